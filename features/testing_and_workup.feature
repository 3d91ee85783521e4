Feature: Testing and work-up after pregnancy loss
  Pregnancy losses are counted as ESHRE counts them: ectopic and molar pregnancies are not
  losses; biochemical losses are; a miscarriage happening now is one more. Two counted losses
  are recurrent pregnancy loss (eshre-2022, asrm-2012). The work-up after recurrent loss:
  antiphospholipid antibodies (lupus anticoagulant, anticardiolipin IgG and IgM) before any
  anticoagulation, a positive result repeated at least 12 weeks later (sydney-2006), thyroid
  function and TPO antibodies, the uterine cavity, and the karyotype of the pregnancy tissue
  from the third loss or after a second-trimester loss (rcog-2023). Inherited thrombophilia is
  not tested routinely (acog-pb197-2018), only after a second-trimester loss or a thrombosis.

  Rule: Counting losses, and when they are recurrent

    @rsa_finding_losses @rsa_finding_rpl @rsa_workup_thyroid @rsa_workup_uterine @rsa_workup_cytogenetic
    Scenario Outline: <count> miscarriages
      Given a patient with <count> miscarriages at <weeks> weeks
      When the guidance is evaluated
      Then <count> pregnancy losses are counted
      And the finding recurrent pregnancy loss <recurrent>
      And thyroid testing <workup>
      And uterine assessment <workup>
      And cytogenetic testing <karyotype>

      Examples:
        | count | weeks      | recurrent          | workup           | karyotype        |
        | 1     | 7          | is not established | is not requested | is not requested |
        | 2     | 6 and 7    | is established     | is requested     | is not requested |
        | 3     | 6, 7 and 8 | is established     | is requested     | is requested     |

    @rsa_finding_losses @rsa_finding_rpl
    Scenario Outline: A miscarriage and <other> at 7 weeks
      Given a patient with 1 miscarriage at 6 weeks
      And she also had <other> at 7 weeks
      When the guidance is evaluated
      Then <count> pregnancy losses are counted
      And the finding recurrent pregnancy loss <recurrent>

      Examples:
        | other                   | count | recurrent          |
        | an ectopic pregnancy    | 1     | is not established |
        | a molar pregnancy       | 1     | is not established |
        | a biochemical pregnancy | 2     | is established     |
        | a miscarriage           | 2     | is established     |
        | a pregnancy loss        | 2     | is established     |

    @rsa_finding_losses @rsa_finding_rpl
    Scenario: A miscarriage happening now is one more loss
      Given a patient with 1 miscarriage at 6 weeks
      And she is having a miscarriage at 8 weeks
      When the guidance is evaluated
      Then 2 pregnancy losses are counted
      And the finding recurrent pregnancy loss is established

    @rsa_finding_losses @rsa_workup_cytogenetic
    Scenario: A history given only as a count
      Given a patient with 3 previous pregnancy losses
      When the guidance is evaluated
      Then 3 pregnancy losses are counted
      And cytogenetic testing is requested

    @rsa_finding_losses @rsa_finding_rpl @rsa_workup_thyroid
    Scenario: With no pregnancy history recorded, nothing is counted and nothing is assumed
      Given a patient with no pregnancy history recorded
      When the guidance is evaluated
      Then the finding pregnancy losses is not established
      And the finding recurrent pregnancy loss is not established
      And thyroid testing is not requested because recurrent pregnancy loss is not established

    @rsa_finding_losses
    Scenario: No previous loss is counted as none
      Given a patient with no previous pregnancy loss
      When the guidance is evaluated
      Then 0 pregnancy losses are counted
      And the engine gives no recommendations

    @rsa_workup_thyroid @rsa_workup_uterine @rsa_workup_cytogenetic @rsa_test_apl @rsa_test_inherited_not_routine
    Scenario: The whole work-up after three miscarriages, nothing tested yet
      Given a patient with 3 consecutive miscarriages at 6, 7 and 8 weeks
      And she has had 1 live birth
      When the guidance is evaluated
      Then the guidance includes:
        | action | intervention                      | rule                           |
        | test   | antiphospholipid antibody testing | RSA-TEST-APL                   |
        | test   | thyroid testing                   | RSA-WORKUP-THYROID             |
        | test   | uterine assessment                | RSA-WORKUP-UTERINE             |
        | test   | cytogenetic testing               | RSA-WORKUP-CYTOGENETIC         |
        | avoid  | inherited thrombophilia testing   | RSA-TEST-INHERITED-NOT-ROUTINE |
      And the guidance does not include:
        | action    | intervention                  |
        | recommend | heparin plus low-dose aspirin |
        | consider  | progesterone                  |

    @rsa_finding_losses @rsa_finding_rpl @rsa_workup_cytogenetic
    Scenario: A history from the record, loss by loss
      Given a patient with these pregnancy losses:
        | weeks | kind                  | fetal karyotype | date       |
        | 5     | biochemical pregnancy |                 | 2023-02-01 |
        | 7     | ectopic pregnancy     |                 | 2023-09-12 |
        | 8     | miscarriage           | abnormal        | 2024-05-20 |
        |       | pregnancy loss        |                 |            |
      When the guidance is evaluated
      Then 3 pregnancy losses are counted
      And the finding recurrent pregnancy loss is established
      And cytogenetic testing is requested

    @rsa_finding_losses @rsa_finding_rpl @rsa_test_apl
    Scenario: A facts document from the health record
      Given a patient with these facts:
        """
        {
          "id": "patient-123",
          "pregnancy_history": {"loss_count": 2},
          "antiphospholipid": {"results": [
            {"test": "lupus-anticoagulant", "date": "2026-01-05", "result": "negative"}
          ]}
        }
        """
      And the facts also include:
        """
        {"antiphospholipid": {"results": [
          {"test": "anticardiolipin-igg", "date": "2026-01-05", "result": "negative"}
        ]}}
        """
      When the guidance is evaluated
      Then 2 pregnancy losses are counted
      And antiphospholipid antibody testing is requested
      And it names anticardiolipin IgM as not yet done

    @rsa_workup_cytogenetic @rsa_workup_uterine
    Scenario: Cytogenetic testing after a second-trimester loss, even with two losses
      Given a patient with 2 miscarriages at 8 and 15 weeks
      When the guidance is evaluated
      Then cytogenetic testing is requested
      And it comes from rule RSA-WORKUP-CYTOGENETIC
      And the explanation cites rcog-2023
      And uterine assessment is requested

  Rule: Antiphospholipid antibodies: test before any anticoagulation

    @rsa_test_apl
    Scenario: Nothing tested yet
      Given a patient with 2 miscarriages at 6 and 7 weeks
      When the guidance is evaluated
      Then antiphospholipid antibody testing is requested
      And it comes from rule RSA-TEST-APL
      And it names lupus anticoagulant, anticardiolipin IgG and anticardiolipin IgM as not yet done
      And it names anti-β2-glycoprotein-I IgG and anti-β2-glycoprotein-I IgM as optional
      And the explanation cites acog-pb132-2012 and rcog-2023
      And heparin plus low-dose aspirin is not recommended because the antiphospholipid tests are unknown

    @rsa_test_apl
    Scenario: Only the lupus anticoagulant was tested
      Given a patient with 2 miscarriages at 6 and 7 weeks
      And lupus anticoagulant was negative on 2026-01-05
      When the guidance is evaluated
      Then antiphospholipid antibody testing is requested
      And it names anticardiolipin IgG and anticardiolipin IgM as not yet done

    @rsa_test_apl
    Scenario: Screening done: no further testing is requested
      Given a patient with 2 miscarriages at 6 and 7 weeks
      And the antiphospholipid screening tests were negative on 2026-01-05
      When the guidance is evaluated
      Then antiphospholipid antibody testing is not requested

    @rsa_test_apl
    Scenario: No antiphospholipid testing without recurrent loss
      Given a patient with 1 miscarriage at 7 weeks
      When the guidance is evaluated
      Then antiphospholipid antibody testing is not requested because recurrent pregnancy loss is not established

  Rule: A positive result is repeated at least 12 weeks later

    @rsa_test_apl_repeat @rsa_finding_apl_unconfirmed
    Scenario: One positive lupus anticoagulant: repeat it 84 days later
      Given a patient with 2 miscarriages at 6 and 7 weeks
      And lupus anticoagulant was positive on 2026-01-05
      When the guidance is evaluated
      Then the finding antiphospholipid positive, not yet confirmed is established
      And repeat antiphospholipid testing is requested
      And it is due on 2026-03-30
      And the explanation cites sydney-2006
      And heparin plus low-dose aspirin is not recommended

    @rsa_test_apl_repeat
    Scenario: The repeat is due from the earliest unconfirmed positive
      Given a patient with 2 miscarriages at 6 and 7 weeks
      And anticardiolipin IgG was 50 GPL on 2026-02-01
      And lupus anticoagulant was positive on 2026-01-05
      When the guidance is evaluated
      Then repeat antiphospholipid testing is requested
      And it is due on 2026-03-30

    @rsa_test_apl_repeat @rsa_finding_apl_unconfirmed
    Scenario: A result that cannot be read without the 99th-percentile flag is repeated
      Given a patient with 2 miscarriages at 6 and 7 weeks
      And anti-β2GPI IgG was 30 U/mL on 2026-01-05
      When the guidance is evaluated
      Then the finding antiphospholipid positive, not yet confirmed is not established
      And repeat antiphospholipid testing is requested
      And the explanation mentions "99th-percentile flag"

    @rsa_test_apl_repeat
    Scenario: A persistent positive needs no repeat
      Given a patient with 3 consecutive miscarriages at 7, 8 and 9 weeks
      And lupus anticoagulant was positive on 2026-01-05 and 2026-04-10
      When the guidance is evaluated
      Then repeat antiphospholipid testing is not requested

  Rule: Inherited thrombophilia: not routine; consider after a second-trimester loss or thrombosis

    @rsa_test_inherited_not_routine @rsa_test_inherited_consider
    Scenario Outline: A loss at <weeks> weeks
      Given a patient with 2 miscarriages at 8 and <weeks> weeks
      When the guidance is evaluated
      Then inherited thrombophilia testing <routine>
      And inherited thrombophilia testing <consider>

      Examples:
        | weeks | routine                | consider            |
        | 12    | is advised against     | is not considered   |
        | 13    | is not advised against | is to be considered |

    @rsa_test_inherited_consider
    Scenario: After a second-trimester loss, the tests RCOG names, ideally within research
      Given a patient with 2 miscarriages at 8 and 15 weeks
      When the guidance is evaluated
      Then inherited thrombophilia testing is to be considered
      And the explanation cites rcog-2023
      And the explanation mentions "factor V Leiden, the prothrombin gene mutation and protein S deficiency, ideally within a research context"
      And its evidence grade mentions "RCOG Grade C"

    @rsa_test_inherited_not_routine
    Scenario: Not routine after first-trimester losses
      Given a patient with 3 consecutive miscarriages at 6, 7 and 8 weeks
      When the guidance is evaluated
      Then inherited thrombophilia testing is advised against
      And it comes from rule RSA-TEST-INHERITED-NOT-ROUTINE
      And the explanation cites acog-pb197-2018 and rcog-2023
      And its evidence grade mentions "Level B"
      And the explanation mentions "protein C, antithrombin, MTHFR: not recommended"

    @rsa_test_inherited_consider
    Scenario: Consider inherited thrombophilia testing after a thrombosis
      Given a patient with 2 miscarriages at 6 and 7 weeks
      And she has a history of thrombosis
      When the guidance is evaluated
      Then inherited thrombophilia testing is to be considered
      And it comes from rule RSA-TEST-INHERITED-CONSIDER
      And it names factor V Leiden, prothrombin G20210A and protein S deficiency as not yet done
      And inherited thrombophilia testing is not advised against

    @rsa_test_inherited_consider @rsa_test_inherited_not_routine
    Scenario: Nothing more to test once an inherited thrombophilia is confirmed
      Given a patient with 2 miscarriages at 8 and 14 weeks
      And factor V Leiden is heterozygous
      When the guidance is evaluated
      Then there is no guidance on inherited thrombophilia testing

    @rsa_test_inherited_not_routine
    Scenario: Nothing to advise against once every inherited test is done
      Given a patient with 2 miscarriages at 6 and 7 weeks
      And the inherited thrombophilia tests were all negative
      When the guidance is evaluated
      Then inherited thrombophilia testing is not advised against
