Feature: Anticoagulation and antiphospholipid syndrome
  Heparin with low-dose aspirin is advised only with a confirmed thrombophilia
  (seed-heparin). With antiphospholipid syndrome (APS) and recurrent loss it is recommended
  (empson-2005, eshre-2022); with an inherited thrombophilia it may be considered, shown with
  the trials that found no benefit (alife2-2023); with unexplained recurrent loss it is advised
  against (kaandorp-2010). APS is classified by the revised Sydney criteria (sydney-2006): a
  laboratory criterion (the same test positive twice, at least 12 weeks = 84 days apart) and a
  clinical criterion. Missing results are never read as negative.

  Rule: APS with recurrent loss: heparin plus low-dose aspirin

    @rsa_anticoag_aps @rsa_finding_aps_confirmed @rsa_finding_apl_lab @rsa_finding_thrombophilia
    Scenario: Heparin plus low-dose aspirin for three consecutive losses with confirmed APS
      Given a patient with 3 consecutive miscarriages at 7, 8 and 9 weeks
      And lupus anticoagulant was positive on 2026-01-05 and 2026-04-10
      When the guidance is evaluated
      Then heparin plus low-dose aspirin is recommended
      And it comes from rule RSA-ANTICOAG-APS
      And it is not flagged as an alert
      And the explanation cites seed-heparin, empson-2005 and eshre-2022
      And its evidence grade mentions "ESHRE 2022"
      And the explanation mentions "95 days apart"
      And the explanation shows the input antiphospholipid.results.1
      And the finding antiphospholipid syndrome confirmed is established
      And the finding antiphospholipid laboratory criterion met is established
      And the finding thrombophilia confirmed is established

    @rsa_anticoag_aps @rsa_finding_aps_confirmed
    Scenario: The laboratory criterion with three non-consecutive losses is enough
      Given a patient with 3 non-consecutive miscarriages at 6, 7 and 8 weeks
      And anticardiolipin IgG was 55 GPL on 2026-01-05 and 2026-04-10
      When the guidance is evaluated
      Then the finding antiphospholipid syndrome confirmed is not established
      And the finding antiphospholipid laboratory criterion met is established
      But heparin plus low-dose aspirin is recommended
      And it comes from rule RSA-ANTICOAG-APS

    @rsa_anticoag_aps
    Scenario: A clinician's APS diagnosis with two losses: recommended, with the ESHRE research note
      Given a patient with 2 miscarriages at 6 and 8 weeks
      And a clinician recorded antiphospholipid syndrome as confirmed
      When the guidance is evaluated
      Then heparin plus low-dose aspirin is recommended
      And the explanation mentions "only within research"

    @rsa_anticoag_aps @rsa_test_apl
    Scenario: No heparin recommendation while the antiphospholipid tests are not done
      Given a patient with 3 consecutive miscarriages at 6, 7 and 8 weeks
      When the guidance is evaluated
      Then heparin plus low-dose aspirin is not recommended because the antiphospholipid tests are unknown
      And for heparin plus low-dose aspirin, the rule RSA-ANTICOAG-APS is not met
      And antiphospholipid antibody testing is requested

    @rsa_anticoag_aps @rsa_aps_two_losses @rsa_finding_apl_lab
    Scenario Outline: The laboratory criterion alone, with <count> losses
      Given a patient with <count> non-consecutive miscarriages at <weeks> weeks
      And lupus anticoagulant was positive on 2026-01-05 and 2026-04-10
      When the guidance is evaluated
      Then the finding antiphospholipid laboratory criterion met is established
      And heparin plus low-dose aspirin <heparin>
      And the patient <referral> for specialist review

      Examples:
        | count | weeks      | heparin            | referral        |
        | 1     | 6          | is not recommended | is not referred |
        | 2     | 6 and 7    | is not recommended | is referred     |
        | 3     | 6, 7 and 8 | is recommended     | is not referred |

  Rule: Laboratory thresholds: persistence over 84 days, anticardiolipin above 40 GPL

    @rsa_finding_apl_lab @rsa_finding_apl_unconfirmed @rsa_anticoag_aps
    Scenario Outline: Two positive results <days> days apart
      Given a patient with 3 consecutive miscarriages at 6, 7 and 8 weeks
      And lupus anticoagulant was positive on 2026-01-05 and <second>
      When the guidance is evaluated
      Then the finding antiphospholipid laboratory criterion met <laboratory>
      And the finding antiphospholipid positive, not yet confirmed <unconfirmed>
      And heparin plus low-dose aspirin <heparin>

      Examples:
        | days | second     | laboratory         | unconfirmed        | heparin            |
        | 83   | 2026-03-29 | is not established | is established     | is not recommended |
        | 84   | 2026-03-30 | is established     | is not established | is recommended     |

    @rsa_finding_apl_lab @rsa_finding_aps_excluded @rsa_anticoag_unexplained @rsa_anticoag_aps
    Scenario Outline: Anticardiolipin IgG at <titre> GPL
      Given a patient with 3 consecutive miscarriages at 6, 7 and 8 weeks
      And the antiphospholipid results are:
        | test                | date       | result   | value   | unit |
        | lupus anticoagulant | 2026-01-05 | negative |         |      |
        | anticardiolipin IgM | 2026-01-05 | negative |         |      |
        | anticardiolipin IgG | 2026-01-05 |          | <titre> | GPL  |
        | anticardiolipin IgG | 2026-04-10 |          | <titre> | GPL  |
      When the guidance is evaluated
      Then the finding antiphospholipid laboratory criterion met <laboratory>
      And the finding antiphospholipid syndrome excluded <excluded>
      And heparin plus low-dose aspirin <heparin>

      Examples:
        | titre | laboratory         | excluded           | heparin            |
        | 40    | is not established | is established     | is advised against |
        | 41    | is established     | is not established | is recommended     |

    @rsa_finding_apl_lab
    Scenario: Anticardiolipin above the laboratory's 99th percentile counts in any unit
      Given a patient with 3 consecutive miscarriages at 6, 7 and 8 weeks
      And anticardiolipin IgM was 30 U/mL, above the 99th percentile, on 2026-01-05 and 2026-04-10
      When the guidance is evaluated
      Then the finding antiphospholipid laboratory criterion met is established
      And heparin plus low-dose aspirin is recommended

  Rule: The APS clinical criterion (Sydney)

    @rsa_finding_aps_clinical @rsa_anticoag_aps_no_rpl @rsa_finding_aps_confirmed
    Scenario Outline: One loss at <weeks> weeks with a persistent lupus anticoagulant
      Given a patient with 1 miscarriage at <weeks> weeks
      And lupus anticoagulant was positive on 2026-01-05 and 2026-04-10
      When the guidance is evaluated
      Then the finding APS clinical criterion met <clinical>
      And the finding antiphospholipid syndrome confirmed <clinical>
      And heparin plus low-dose aspirin <heparin>

      Examples:
        | weeks | clinical           | heparin             |
        | 9     | is not established | is not considered   |
        | 10    | is established     | is to be considered |

    @rsa_finding_aps_clinical
    Scenario: Consecutive early losses not recorded as consecutive do not show the criterion
      Given a patient with 3 miscarriages at 6, 7 and 8 weeks
      And lupus anticoagulant was positive on 2026-01-05 and 2026-04-10
      When the guidance is evaluated
      Then the finding APS clinical criterion met is not established
      And the finding antiphospholipid syndrome confirmed is not established

    @rsa_finding_aps_clinical
    Scenario: A loss with an abnormal fetal karyotype is explained and does not count
      Given a patient with 1 fetal death at 14 weeks with an abnormal fetal karyotype
      And lupus anticoagulant was positive on 2026-01-05 and 2026-04-10
      When the guidance is evaluated
      Then the finding APS clinical criterion met is not established

    @rsa_finding_aps_clinical @rsa_anticoag_aps_no_rpl
    Scenario: A preterm birth for placental insufficiency is a clinical criterion
      Given a patient with no previous pregnancy loss
      And she had a preterm birth before 34 weeks for severe pre-eclampsia or placental insufficiency
      And lupus anticoagulant was positive on 2026-01-05 and 2026-04-10
      When the guidance is evaluated
      Then the finding APS clinical criterion met is established
      And heparin plus low-dose aspirin is to be considered
      And it comes from rule RSA-ANTICOAG-APS-NO-RPL
      And the explanation cites acog-pb132-2012

  Rule: APS without recurrent loss

    @rsa_anticoag_aps_no_rpl @rsa_finding_rpl
    Scenario: APS after one fetal death: heparin plus low-dose aspirin may be considered
      Given a patient with 1 fetal death at 16 weeks
      And lupus anticoagulant was positive on 2026-01-05 and 2026-04-10
      When the guidance is evaluated
      Then the finding recurrent pregnancy loss is not established
      And the finding antiphospholipid syndrome confirmed is established
      And heparin plus low-dose aspirin is considered
      And it comes from rule RSA-ANTICOAG-APS-NO-RPL
      And the explanation cites acog-pb132-2012 and seed-heparin
      And heparin plus low-dose aspirin is not recommended

    @rsa_anticoag_aps_no_rpl
    Scenario: APS with recurrent loss is not the "without recurrent loss" rule
      Given a patient with 2 miscarriages at 6 and 8 weeks
      And a clinician recorded antiphospholipid syndrome as confirmed
      When the guidance is evaluated
      Then for heparin plus low-dose aspirin, the rule RSA-ANTICOAG-APS-NO-RPL is not met
      And heparin plus low-dose aspirin is not considered

  Rule: A history of thrombosis: specialist review, no prophylactic-dose advice

    @rsa_aps_thrombosis @rsa_anticoag_aps
    Scenario: APS with a history of thrombosis is referred
      Given a patient with 3 consecutive miscarriages at 7, 8 and 9 weeks
      And lupus anticoagulant was positive on 2026-01-05 and 2026-04-10
      And she has a history of thrombosis
      When the guidance is evaluated
      Then the patient is referred for specialist review
      And it comes from rule RSA-APS-THROMBOSIS
      And the explanation cites acog-pb132-2012
      And heparin plus low-dose aspirin is not recommended because of the thrombosis history

    @rsa_aps_thrombosis @rsa_finding_thrombophilia @rsa_anticoag_inherited
    Scenario: An inherited thrombophilia with a history of thrombosis is referred
      Given a patient with 2 miscarriages at 6 and 7 weeks
      And factor V Leiden is homozygous
      And she has a history of thrombosis
      When the guidance is evaluated
      Then the finding thrombophilia confirmed is established
      And the patient is referred for specialist review
      And it comes from rule RSA-APS-THROMBOSIS
      And heparin plus low-dose aspirin is not considered because of the thrombosis history

    @rsa_aps_thrombosis
    Scenario: A history of thrombosis without a thrombophilia is not this rule
      Given a patient with 2 miscarriages at 6 and 7 weeks
      And she has a history of thrombosis
      When the guidance is evaluated
      Then the rule RSA-APS-THROMBOSIS does not fire
      And the patient is not referred for specialist review

  Rule: Inherited thrombophilia: consider, with the conflicting evidence shown

    @rsa_anticoag_inherited @rsa_finding_inherited @rsa_caution_heparin
    Scenario Outline: Heparin plus low-dose aspirin may be considered with <thrombophilia>
      Given a patient with 2 miscarriages at 6 and 7 weeks
      And <thrombophilia>
      When the guidance is evaluated
      Then the finding inherited thrombophilia confirmed is established
      And heparin plus low-dose aspirin is to be considered
      And it comes from rule RSA-ANTICOAG-INHERITED
      And the explanation cites seed-heparin
      And the explanation shows conflicting evidence from alife2-2023, eshre-2022 and acog-pb197-2018
      And the explanation mentions "72%"
      And it cautions about bleeding

      Examples:
        | thrombophilia                      |
        | factor V Leiden is heterozygous    |
        | prothrombin G20210A is homozygous  |
        | protein C deficiency is present    |
        | protein S deficiency is present    |
        | antithrombin deficiency is present |

    @rsa_finding_inherited @rsa_anticoag_inherited
    Scenario: Negative inherited tests confirm nothing
      Given a patient with 2 miscarriages at 6 and 7 weeks
      And the inherited thrombophilia tests were all negative
      When the guidance is evaluated
      Then the finding inherited thrombophilia confirmed is not established
      And heparin plus low-dose aspirin is not considered because inherited thrombophilia confirmed is not established

    @rsa_anticoag_inherited
    Scenario: With APS confirmed, the APS rule answers, not the inherited one
      Given a patient with 3 consecutive miscarriages at 7, 8 and 9 weeks
      And lupus anticoagulant was positive on 2026-01-05 and 2026-04-10
      And factor V Leiden is heterozygous
      When the guidance is evaluated
      Then heparin plus low-dose aspirin is recommended
      And for heparin plus low-dose aspirin, the rule RSA-ANTICOAG-INHERITED is not met

  Rule: Unexplained recurrent loss: no heparin, no aspirin

    @rsa_anticoag_unexplained @rsa_finding_unexplained @rsa_finding_aps_excluded
    Scenario: Heparin and aspirin are advised against when the antiphospholipid tests are negative
      Given a patient with 3 consecutive miscarriages at 6, 7 and 8 weeks
      And the antiphospholipid screening tests were negative on 2026-01-05
      When the guidance is evaluated
      Then the finding antiphospholipid syndrome excluded is established
      And the finding unexplained recurrent pregnancy loss is established
      And heparin plus low-dose aspirin is advised against
      And it comes from rule RSA-ANTICOAG-UNEXPLAINED
      And it is not flagged as an alert
      And the explanation cites kaandorp-2010
      And the explanation mentions "54.5%"
      And low-dose aspirin is advised against
      And heparin plus low-dose aspirin is not recommended because antiphospholipid syndrome confirmed is not established

    @rsa_anticoag_unexplained
    Scenario: Heparin proposed for unexplained recurrent loss is an alert
      Given a patient with 2 miscarriages at 6 and 8 weeks
      And the antiphospholipid screening tests were negative on 2026-01-05
      And heparin plus low-dose aspirin is proposed
      When the guidance is evaluated
      Then heparin plus low-dose aspirin is advised against
      And it is flagged as an alert
      And the explanation cites kaandorp-2010
      And the rule RSA-ANTICOAG-ALERT-COMBINED does not fire

    @rsa_finding_aps_excluded @rsa_finding_unexplained
    Scenario: A transient lupus anticoagulant counts as negative
      Given a patient with 2 miscarriages at 6 and 8 weeks
      And the antiphospholipid results are:
        | test                | date       | result   |
        | lupus anticoagulant | 2026-01-05 | positive |
        | lupus anticoagulant | 2026-04-10 | negative |
        | anticardiolipin IgG | 2026-01-05 | negative |
        | anticardiolipin IgM | 2026-01-05 | negative |
      When the guidance is evaluated
      Then the finding antiphospholipid syndrome excluded is established
      And the finding unexplained recurrent pregnancy loss is established

    @rsa_finding_unexplained @rsa_anticoag_unexplained
    Scenario: Untested inherited thrombophilia still counts as unexplained; untested APS does not
      Given a patient with 2 miscarriages at 6 and 8 weeks
      When the guidance is evaluated
      Then the finding unexplained recurrent pregnancy loss is not established
      And heparin plus low-dose aspirin is not advised against because antiphospholipid syndrome excluded is not established

  Rule: A contraindication stops the recommendation and calls for a specialist

    @rsa_safety_contraindication @rsa_anticoag_aps
    Scenario Outline: Heparin plus low-dose aspirin is indicated, but she has <contraindication>
      Given a patient with 3 consecutive miscarriages at 7, 8 and 9 weeks
      And lupus anticoagulant was positive on 2026-01-05 and 2026-04-10
      And she has <contraindication>
      When the guidance is evaluated
      Then the patient is referred for specialist review
      And it comes from rule RSA-SAFETY-CONTRAINDICATION
      And it names RSA-ANTICOAG-APS as blocked
      And heparin plus low-dose aspirin is not recommended because it is blocked by <contraindication>
      And for heparin plus low-dose aspirin, the rule RSA-ANTICOAG-APS is blocked

      Examples:
        | contraindication                              |
        | a bleeding disorder                           |
        | active bleeding                               |
        | a history of heparin-induced thrombocytopenia |
        | a heparin allergy                             |
        | an aspirin allergy                            |

    @rsa_safety_contraindication
    Scenario: A contraindication without an indication calls for nothing
      Given a patient with 2 miscarriages at 6 and 7 weeks
      And she has a heparin allergy
      When the guidance is evaluated
      Then the rule RSA-SAFETY-CONTRAINDICATION does not fire
      And the patient is not referred for specialist review

  Rule: Cautions with heparin

    @rsa_caution_heparin
    Scenario: Heparin comes with cautions on bleeding, bone loss and thrombocytopenia
      Given a patient with 3 consecutive miscarriages at 7, 8 and 9 weeks
      And lupus anticoagulant was positive on 2026-01-05 and 2026-04-10
      When the guidance is evaluated
      Then heparin plus low-dose aspirin is recommended
      And it cautions about bleeding
      And it cautions about bone loss
      And it cautions about heparin-induced thrombocytopenia
      And the explanation cites alife2-2023

    @rsa_caution_heparin
    Scenario: Osteoporosis weighs more, but does not block heparin
      Given a patient with 3 consecutive miscarriages at 7, 8 and 9 weeks
      And lupus anticoagulant was positive on 2026-01-05 and 2026-04-10
      And she has osteoporosis
      When the guidance is evaluated
      Then heparin plus low-dose aspirin is recommended
      And it cautions that osteoporosis is recorded
      And the patient is not referred for specialist review

  Rule: Heparin or aspirin proposed without an indication is an alert

    @rsa_anticoag_alert_heparin @rsa_test_apl
    Scenario: Heparin proposed before any antiphospholipid test
      Given a patient with 2 miscarriages at 6 and 7 weeks
      And heparin is proposed
      When the guidance is evaluated
      Then an alert is raised on heparin
      And it comes from rule RSA-ANTICOAG-ALERT-HEPARIN
      And the explanation cites seed-heparin and kaandorp-2010
      And antiphospholipid antibody testing is requested

    @rsa_anticoag_alert_aspirin
    Scenario: Low-dose aspirin ordered without an indication
      Given a patient with 2 miscarriages at 6 and 7 weeks
      And low-dose aspirin is ordered
      When the guidance is evaluated
      Then low-dose aspirin is advised against
      And it comes from rule RSA-ANTICOAG-ALERT-ASPIRIN
      And it is flagged as an alert

    @rsa_anticoag_alert_combined
    Scenario: Heparin plus low-dose aspirin already active without a confirmed thrombophilia
      Given a patient with 2 miscarriages at 6 and 7 weeks
      And heparin plus low-dose aspirin is active
      When the guidance is evaluated
      Then heparin plus low-dose aspirin is advised against
      And it comes from rule RSA-ANTICOAG-ALERT-COMBINED
      And it is flagged as an alert
      And 1 alert is raised

    @rsa_anticoag_alert_combined @rsa_anticoag_alert_heparin @rsa_anticoag_alert_aspirin
    Scenario: No alert when the indication holds
      Given a patient with 3 consecutive miscarriages at 7, 8 and 9 weeks
      And lupus anticoagulant was positive on 2026-01-05 and 2026-04-10
      And heparin plus low-dose aspirin is proposed
      And low-dose aspirin is active
      When the guidance is evaluated
      Then heparin plus low-dose aspirin is recommended
      And it is not flagged as an alert
      And no alert is raised
      And the rule RSA-ANTICOAG-ALERT-ASPIRIN does not fire

    @rsa_anticoag_alert_combined
    Scenario: Whether heparin is proposed is not recorded: no alert
      Given a patient with 2 miscarriages at 6 and 7 weeks
      When the guidance is evaluated
      Then heparin plus low-dose aspirin is not advised against because the treatments are not recorded
      And for heparin plus low-dose aspirin, the rule RSA-ANTICOAG-ALERT-COMBINED is unknown

    @rsa_anticoag_vte_review @rsa_anticoag_alert_heparin
    Scenario: Heparin proposed with a history of thrombosis goes to a specialist, without an alert
      Given a patient with 2 miscarriages at 6 and 7 weeks
      And she has a history of thrombosis
      And heparin is proposed
      When the guidance is evaluated
      Then the patient is referred for specialist review
      And it comes from rule RSA-ANTICOAG-VTE-REVIEW
      And the rule RSA-ANTICOAG-ALERT-HEPARIN does not fire
      And heparin is not advised against because of the thrombosis history

    @rsa_anticoag_vte_review
    Scenario: No specialist review for a history of thrombosis when no heparin or aspirin is proposed
      Given a patient with 2 miscarriages at 6 and 7 weeks
      And she has a history of thrombosis
      And no treatment is proposed, ordered or active
      When the guidance is evaluated
      Then the rule RSA-ANTICOAG-VTE-REVIEW does not fire

  Rule: A clinician's assertion wins over the results, and the conflict is shown

    @rsa_finding_data_conflict @rsa_finding_aps_excluded @rsa_safety_data_conflict
    Scenario: APS recorded as excluded while the lupus anticoagulant is persistently positive
      Given a patient with 3 consecutive miscarriages at 7, 8 and 9 weeks
      And lupus anticoagulant was positive on 2026-01-05 and 2026-04-10
      And a clinician recorded antiphospholipid syndrome as excluded
      When the guidance is evaluated
      Then the finding data conflict is established
      And the finding antiphospholipid syndrome excluded is established
      And the finding antiphospholipid syndrome confirmed is not established
      # The recorded exclusion is taken as it stands: the losses then count as unexplained.
      And the finding unexplained recurrent pregnancy loss is established
      And heparin plus low-dose aspirin is advised against
      # The disagreement itself goes to a specialist.
      And the patient is referred for specialist review
      And it comes from rule RSA-SAFETY-DATA-CONFLICT

    @rsa_finding_data_conflict @rsa_finding_aps_confirmed @rsa_safety_data_conflict
    Scenario: APS recorded as confirmed while the screening tests are negative
      Given a patient with 3 consecutive miscarriages at 7, 8 and 9 weeks
      And the antiphospholipid screening tests were negative on 2026-01-05
      And a clinician recorded antiphospholipid syndrome as confirmed
      When the guidance is evaluated
      Then the finding data conflict is established
      And the finding antiphospholipid syndrome confirmed is established
      And heparin plus low-dose aspirin is recommended

    @rsa_finding_data_conflict
    Scenario: No conflict when the results agree with the clinician
      Given a patient with 3 consecutive miscarriages at 7, 8 and 9 weeks
      And lupus anticoagulant was positive on 2026-01-05 and 2026-04-10
      And a clinician recorded antiphospholipid syndrome as confirmed
      When the guidance is evaluated
      Then the finding data conflict is not established
      And the patient is not referred for specialist review

  Rule: The engine speaks only in its own context: heparin and aspirin have other indications
    Heparin (VTE prophylaxis) and low-dose aspirin (pre-eclampsia prevention, uspstf-2021-aspirin)
    are often ordered for reasons outside this engine. It alerts on them only when the order
    says it is to prevent miscarriage (a stated alert), or says nothing while recurrent
    pregnancy loss is established (an inferred alert, worded "If this is to prevent
    miscarriage: ..."). Another stated reason, or no reason without recurrent loss: nothing.

    @rsa_anticoag_alert_heparin @rsa_anticoag_alert_aspirin
    Scenario Outline: <treatment> ordered <reason> after <losses> miscarriages
      Given a patient with <losses> miscarriages
      And she is 33 years old
      And <treatment> is ordered <reason>
      When the guidance is evaluated
      Then <verdict>

      Examples:
        | treatment        | reason                 | losses | verdict                                              |
        | heparin          | to prevent miscarriage | 3      | an alert is raised on heparin                         |
        | heparin          | with no reason stated  | 3      | an alert is raised on heparin                         |
        | heparin          | for another indication | 3      | there is no guidance on heparin                       |
        | heparin          | to prevent miscarriage | 1      | an alert is raised on heparin                         |
        | heparin          | with no reason stated  | 1      | there is no guidance on heparin                       |
        | heparin          | for another indication | 1      | there is no guidance on heparin                       |
        | low-dose aspirin | to prevent miscarriage | 3      | an alert is raised on low-dose aspirin                |
        | low-dose aspirin | with no reason stated  | 3      | an alert is raised on low-dose aspirin                |
        | low-dose aspirin | for another indication | 3      | there is no guidance on low-dose aspirin              |
        | low-dose aspirin | to prevent miscarriage | 1      | an alert is raised on low-dose aspirin                |
        | low-dose aspirin | with no reason stated  | 1      | there is no guidance on low-dose aspirin              |
        | low-dose aspirin | for another indication | 1      | there is no guidance on low-dose aspirin              |

    @rsa_anticoag_alert_heparin
    Scenario Outline: The certainty of a heparin alert follows the stated reason
      Given a patient with 3 miscarriages
      And heparin is ordered <reason>
      When the guidance is evaluated
      Then heparin is advised against
      And it is flagged as a <certainty> alert
      And the explanation mentions "<wording>"

      Examples:
        | reason                 | certainty | wording                                 |
        | to prevent miscarriage | stated    | Heparin is proposed but not indicated    |
        | with no reason stated  | inferred  | If this is to prevent miscarriage:       |

    @rsa_anticoag_alert_heparin
    Scenario: A 65-year-old with heparin ordered and no pregnancy history gets nothing
      Given a patient with no pregnancy history recorded
      And she is 65 years old
      And heparin is ordered
      And low-dose aspirin is ordered
      When the guidance is evaluated
      Then the engine gives no recommendations
      And for heparin, the rule RSA-ANTICOAG-ALERT-HEPARIN is not met

    @rsa_anticoag_unexplained @rsa_caution_aspirin_preeclampsia
    Scenario: Aspirin ordered for pre-eclampsia in unexplained recurrent loss is left alone
      Given a patient with 3 miscarriages
      And the antiphospholipid screening tests were negative on 2026-01-05
      And low-dose aspirin is active for another indication
      When the guidance is evaluated
      Then there is no guidance on low-dose aspirin
      And for low-dose aspirin, the rule RSA-ANTICOAG-UNEXPLAINED is blocked
      And heparin plus low-dose aspirin is advised against
      And it cautions that This concerns preventing miscarriage only

    @rsa_caution_aspirin_preeclampsia
    Scenario: Every advice against aspirin carries the pre-eclampsia caution
      Given a patient with 3 miscarriages
      And the antiphospholipid screening tests were negative on 2026-01-05
      And low-dose aspirin is ordered
      When the guidance is evaluated
      Then low-dose aspirin is advised against
      And it is flagged as an inferred alert
      And it cautions that This concerns preventing miscarriage only
      And the explanation cites uspstf-2021-aspirin

    @rsa_anticoag_alert_heparin
    Scenario: APS asserted with the loss count unknown: never told to avoid heparin
      Given a patient
      And a clinician recorded antiphospholipid syndrome as confirmed
      And heparin is ordered to prevent miscarriage
      When the guidance is evaluated
      Then there is no guidance on heparin

    @rsa_safety_contraindication
    Scenario Outline: A contraindication at age <age>, heparin plus aspirin <order>
      Given a patient with 3 miscarriages
      And she is <age> years old
      And a clinician recorded antiphospholipid syndrome as confirmed
      And she has a bleeding disorder
      And <order_step>
      When the guidance is evaluated
      Then <verdict>

      Examples:
        | age | order                  | order_step                                                    | verdict                                        |
        | 55  | not ordered            | no treatment is proposed, ordered or active                   | the patient is referred for specialist review  |
        | 56  | not ordered            | no treatment is proposed, ordered or active                   | the patient is not referred for specialist review |
        | 56  | to prevent miscarriage | heparin plus low-dose aspirin is proposed to prevent miscarriage | the patient is referred for specialist review  |
