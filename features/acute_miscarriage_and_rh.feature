Feature: The current pregnancy, acute miscarriage care and Rh
  Signs of a miscarriage (bleeding or spotting, cramping or pain, a gush of fluid or tissue,
  dark discharge) call for prompt evaluation (seed-medlineplus). From 12 weeks, an Rh-negative
  patient who miscarries may need an Rh immunoglobulin (anti-D) shot; when the Rh status is not
  recorded, it is determined rather than assumed. Retained tissue may pass naturally when there
  are no signs of infection; with signs of infection it is removed. Progesterone is considered
  with bleeding in early pregnancy after a previous miscarriage (prism-2019), not given
  routinely in unexplained recurrent loss (promise-2015).

  Rule: Rh immunoglobulin from 12 weeks in an Rh-negative patient

    @rsa_acute_rh
    Scenario Outline: A miscarriage at <weeks> weeks in an Rh-negative patient
      Given a patient with 1 miscarriage at 8 weeks
      And she is having a miscarriage at <weeks> weeks
      And she is Rh negative
      When the guidance is evaluated
      Then Rh immunoglobulin <verdict>

      Examples:
        | weeks | verdict            |
        | 11    | is not recommended |
        | 12    | is recommended     |
        | 13    | is recommended     |

    @rsa_acute_rh
    Scenario: Rh immunoglobulin after a miscarriage at 13 weeks
      Given a patient
      And she is having a miscarriage at 13 weeks
      And she is Rh negative
      When the guidance is evaluated
      Then anti-D immunoglobulin is recommended
      And it comes from rule RSA-ACUTE-RH
      And the explanation cites seed-medlineplus
      And the explanation shows the input rh

    @rsa_acute_rh_weeks_unknown @rsa_acute_rh
    Scenario: Rh negative and miscarrying, the gestational age not recorded
      Given a patient
      And she is having a miscarriage
      And she is Rh negative
      When the guidance is evaluated
      Then urgent clinical evaluation is recommended
      And it comes from rule RSA-ACUTE-RH-WEEKS-UNKNOWN
      And Rh immunoglobulin is not recommended

    @rsa_acute_rh
    Scenario: No Rh immunoglobulin for an Rh-positive patient
      Given a patient
      And she is having a miscarriage at 14 weeks
      And she is Rh positive
      When the guidance is evaluated
      Then Rh immunoglobulin is not recommended because of the Rh status
      And Rh status testing is not requested

    @rsa_acute_rh @rsa_acute_rh_unknown
    Scenario Outline: The Rh status is not recorded, miscarriage at <weeks> weeks
      Given a patient
      And she is having a miscarriage at <weeks> weeks
      And her Rh status is not recorded
      When the guidance is evaluated
      Then Rh status testing <testing>
      And Rh immunoglobulin is not recommended

      Examples:
        | weeks | testing          |
        | 11    | is not requested |
        | 12    | is requested     |

    @rsa_acute_rh_unknown @rsa_acute_rh
    Scenario: Unknown Rh status: test it rather than assume it
      Given a patient
      And she is having a miscarriage at 13 weeks
      When the guidance is evaluated
      Then Rh status testing is requested
      And it comes from rule RSA-ACUTE-RH-UNKNOWN
      And Rh immunoglobulin is not recommended because the Rh status is not recorded
      And for Rh immunoglobulin, the rule RSA-ACUTE-RH is unknown

  Rule: Signs of miscarriage need prompt evaluation

    @rsa_acute_signs
    Scenario Outline: Pregnant at 7 weeks with <symptom>
      Given a patient
      And she is pregnant at 7 weeks with <symptom>
      When the guidance is evaluated
      Then urgent clinical evaluation is recommended
      And it comes from rule RSA-ACUTE-SIGNS
      And the explanation cites seed-medlineplus

      Examples:
        | symptom                    |
        | bleeding                   |
        | spotting                   |
        | cramping                   |
        | pain                       |
        | passage of fluid or tissue |
        | dark discharge             |

    @rsa_acute_signs
    Scenario: Pregnant with no symptoms
      Given a patient
      And she is pregnant at 7 weeks with no symptoms
      When the guidance is evaluated
      Then urgent clinical evaluation is not recommended
      And for urgent clinical evaluation, the rule RSA-ACUTE-SIGNS is not met

    @rsa_acute_signs
    Scenario: Pregnant, symptoms not recorded
      Given a patient
      And she is pregnant at 7 weeks
      When the guidance is evaluated
      Then urgent clinical evaluation is not recommended because the symptoms are not recorded
      And for urgent clinical evaluation, the rule RSA-ACUTE-SIGNS is unknown

  Rule: Progesterone

    @rsa_progesterone_bleeding
    Scenario: Bleeding in early pregnancy after a previous miscarriage
      Given a patient with 1 miscarriage at 8 weeks
      And she is pregnant at 6 weeks with bleeding
      When the guidance is evaluated
      Then progesterone is to be considered
      And it comes from rule RSA-PROGESTERONE-BLEEDING
      And the explanation cites prism-2019 and rcog-2023
      And urgent clinical evaluation is recommended

    @rsa_progesterone_bleeding
    Scenario: Bleeding in a first pregnancy
      Given a patient with no previous pregnancy loss
      And she is pregnant at 6 weeks with bleeding
      When the guidance is evaluated
      Then progesterone is not considered because of previous miscarriages
      And urgent clinical evaluation is recommended

    @rsa_progesterone_bleeding
    Scenario: Bleeding in early pregnancy, previous losses not recorded
      Given a patient
      And she is pregnant at 6 weeks with bleeding
      When the guidance is evaluated
      Then progesterone is not considered because previous miscarriages are not recorded
      And for progesterone, the rule RSA-PROGESTERONE-BLEEDING is unknown

    @rsa_progesterone_routine
    Scenario: No routine progesterone in unexplained recurrent loss
      Given a patient with 3 consecutive miscarriages at 6, 7 and 8 weeks
      And the antiphospholipid screening tests were negative on 2026-01-05
      When the guidance is evaluated
      Then progesterone is advised against
      And it comes from rule RSA-PROGESTERONE-ROUTINE
      And the explanation cites promise-2015
      And the explanation mentions "65.8%"

    @rsa_progesterone_routine @rsa_progesterone_bleeding
    Scenario: Unexplained recurrent loss with bleeding now: progesterone may be considered
      Given a patient with 3 consecutive miscarriages at 6, 7 and 8 weeks
      And the antiphospholipid screening tests were negative on 2026-01-05
      And she is pregnant at 6 weeks with bleeding
      When the guidance is evaluated
      Then progesterone is to be considered
      And progesterone is not advised against because of bleeding or spotting now

    @rsa_progesterone_routine
    Scenario: No advice against progesterone while the losses are not yet explained by testing
      Given a patient with 3 consecutive miscarriages at 6, 7 and 8 weeks
      When the guidance is evaluated
      Then progesterone is not advised against because unexplained recurrent pregnancy loss is not established

  Rule: Retained pregnancy tissue

    @rsa_acute_retained
    Scenario: Retained tissue without signs of infection
      Given a patient
      And she is having a miscarriage at 9 weeks
      And pregnancy tissue is retained
      And she has no signs of infection
      When the guidance is evaluated
      Then expectant management is to be considered
      And it comes from rule RSA-ACUTE-RETAINED
      And removal of retained tissue is to be considered
      And the explanation cites seed-medlineplus
      And removal of retained tissue is not recommended

    @rsa_acute_retained_infection @rsa_acute_retained
    Scenario: Retained tissue with signs of infection is removed
      Given a patient
      And she is having a miscarriage at 9 weeks
      And pregnancy tissue is retained
      And she has signs of infection
      When the guidance is evaluated
      Then removal of retained tissue is recommended
      And it comes from rule RSA-ACUTE-RETAINED-INFECTION
      And expectant management is not considered because of signs of infection

    @rsa_acute_retained_assess @rsa_acute_retained
    Scenario: Retained tissue, signs of infection not recorded: assess them first
      Given a patient
      And she is having a miscarriage at 9 weeks
      And pregnancy tissue is retained
      When the guidance is evaluated
      Then urgent clinical evaluation is recommended
      And it comes from rule RSA-ACUTE-RETAINED-ASSESS
      And expectant management is not considered because signs of infection are not recorded
      And removal of retained tissue is not recommended

    @rsa_acute_retained @rsa_acute_retained_infection @rsa_acute_retained_assess
    Scenario: No retained tissue: no tissue management
      Given a patient
      And she is having a miscarriage at 9 weeks
      And no pregnancy tissue is retained
      And she has no signs of infection
      When the guidance is evaluated
      Then there is no guidance on expectant management
      And there is no guidance on removal of retained tissue
      And urgent clinical evaluation is not recommended
