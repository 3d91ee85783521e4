Feature: Risk factors and support
  Losing a pregnancy can be difficult at any stage, and counselling may help with grief;
  prenatal care starts early in the next pregnancy (seed-medlineplus). Smoking, alcohol and
  drug use, uncontrolled diabetes and severe malnutrition may increase the chance of a
  miscarriage and are addressed. Age 35 or over, polycystic ovary syndrome and problems of the
  uterus or cervix are reported as risk factors; they change no treatment.

  Rule: Support after any pregnancy loss

    @rsa_support_counselling @rsa_support_prenatal
    Scenario: One miscarriage: counselling and early prenatal care
      Given a patient with 1 miscarriage at 7 weeks
      When the guidance is evaluated
      Then grief counselling is to be considered
      And it comes from rule RSA-SUPPORT-COUNSELLING
      And the explanation cites seed-medlineplus
      And early prenatal care is recommended
      And it comes from rule RSA-SUPPORT-PRENATAL

    @rsa_support_counselling @rsa_support_prenatal @rsa_finding_losses
    Scenario: An ectopic pregnancy is not counted as a loss, but support is still offered
      Given a patient with 1 ectopic pregnancy at 7 weeks
      When the guidance is evaluated
      Then 0 pregnancy losses are counted
      And grief counselling is to be considered
      And early prenatal care is recommended

    @rsa_support_counselling @rsa_support_prenatal
    Scenario: A miscarriage happening now
      Given a patient
      And she is having a miscarriage at 10 weeks
      When the guidance is evaluated
      Then grief counselling is to be considered
      And early prenatal care is recommended

    @rsa_support_counselling @rsa_support_prenatal
    Scenario: No pregnancy loss: no bereavement support; prenatal advice waits on the pregnancy
      Given a patient with no previous pregnancy loss
      When the guidance is evaluated
      Then there is no guidance on grief counselling
      And there is no guidance on early prenatal care
      And for early prenatal care, the rule RSA-SUPPORT-PRENATAL is unknown

  Rule: Modifiable risk factors

    @rsa_risk_smoking
    Scenario: She smokes
      Given a patient
      And the patient is identified as patient-7
      And she smokes
      When the guidance is evaluated
      Then smoking cessation is recommended
      And it comes from rule RSA-RISK-SMOKING
      And the explanation cites seed-medlineplus
      And the guidance is exactly:
        | action    | intervention      | rule             | alert |
        | recommend | smoking cessation | RSA-RISK-SMOKING | no    |

    @rsa_risk_smoking
    Scenario: She does not smoke
      Given a patient
      And she does not smoke
      When the guidance is evaluated
      Then smoking cessation is not recommended because of smoking

    @rsa_risk_smoking
    Scenario: Smoking not recorded
      Given a patient
      When the guidance is evaluated
      Then smoking cessation is not recommended because smoking is not recorded
      And for smoking cessation, the rule RSA-RISK-SMOKING is unknown

    @rsa_risk_substance
    Scenario Outline: She <habit>
      Given a patient
      And she <habit>
      When the guidance is evaluated
      Then avoiding alcohol and drugs <verdict>

      Examples:
        | habit                           | verdict            |
        | drinks alcohol                  | is recommended     |
        | uses recreational drugs         | is recommended     |
        | does not drink alcohol          | is not recommended |
        | does not use recreational drugs | is not recommended |

    @rsa_risk_diabetes
    Scenario Outline: She has <diabetes>
      Given a patient with 2 miscarriages at 6 and 7 weeks
      And she has <diabetes>
      When the guidance is evaluated
      Then glycaemic control <verdict>

      Examples:
        | diabetes              | verdict            |
        | uncontrolled diabetes | is recommended     |
        | controlled diabetes   | is not recommended |
        | no diabetes           | is not recommended |

    @rsa_risk_nutrition
    Scenario: Severe malnutrition
      Given a patient
      And she has severe malnutrition
      When the guidance is evaluated
      Then nutrition support is recommended
      And it comes from rule RSA-RISK-NUTRITION

    @rsa_risk_nutrition
    Scenario: No severe malnutrition
      Given a patient
      And she has no severe malnutrition
      When the guidance is evaluated
      Then there is no guidance on nutrition support

  Rule: Risk factors reported as findings, with no treatment of their own

    @rsa_finding_age
    Scenario Outline: Age <age>
      Given a patient
      And she is <age> years old
      When the guidance is evaluated
      Then the finding age 35 or over <finding>
      And the engine gives no recommendations

      Examples:
        | age | finding            |
        | 34  | is not established |
        | 35  | is established     |

    @rsa_finding_pcos @rsa_finding_uterine
    Scenario: Polycystic ovary syndrome and a uterine problem are reported
      Given a patient
      And she has polycystic ovary syndrome
      And she has a uterine or cervical problem
      When the guidance is evaluated
      Then the finding polycystic ovary syndrome is established
      And the finding uterine or cervical problem is established
      And the engine gives no recommendations

    @rsa_finding_pcos @rsa_finding_uterine
    Scenario: Not reported when recorded as absent
      Given a patient
      And she has no PCOS
      And she has no uterine or cervical problem
      When the guidance is evaluated
      Then the finding polycystic ovary syndrome is not established
      And the finding uterine or cervical problem is not established

  Rule: Next-pregnancy advice needs reproductive age
    Reproductive age: at most 55 years (endocrine-menopause: natural menopause from 46 to 55),
    age not recorded, or pregnant now. The work-up, prenatal care and counselling for a past loss
    need it; advice against a treatment does not.

    @rsa_finding_reproductive_age @rsa_support_prenatal @rsa_workup_thyroid
    Scenario Outline: Three miscarriages at <age>
      Given a patient with 3 miscarriages
      And she is <age> years old
      When the guidance is evaluated
      Then the finding reproductive age <finding>
      And early prenatal care <prenatal>
      And thyroid testing <thyroid>
      And IVIg is advised against

      Examples:
        | age | finding            | prenatal           | thyroid            |
        | 55  | is established     | is recommended     | is requested       |
        | 56  | is not established | is not recommended | is not requested   |

    @rsa_finding_reproductive_age @rsa_support_counselling @rsa_support_prenatal
    Scenario: A 98-year-old whose miscarriage was in 1961
      Given a patient with these facts:
        """
        {"age": 98, "pregnancy_history": {"losses": [{"gestational_weeks": 8, "kind": "miscarriage", "date": "1961-05-01"}]}}
        """
      When the guidance is evaluated
      Then the engine gives no recommendations
      And for early prenatal care, the rule RSA-SUPPORT-PRENATAL is blocked

    @rsa_finding_reproductive_age
    Scenario: A current pregnancy proves reproductive age
      Given a patient with 2 miscarriages
      And she is 60 years old
      And she is pregnant at 7 weeks
      When the guidance is evaluated
      Then the finding reproductive age is established
      And early prenatal care is recommended

    @rsa_support_counselling
    Scenario: A miscarriage now is met with counselling at any age
      Given a patient
      And she is 58 years old
      And she is having a miscarriage at 9 weeks
      When the guidance is evaluated
      Then grief counselling is to be considered
