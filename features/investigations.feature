Feature: Investigations clinics offer without evidence, and the parental karyotype
  Clinics that sell lymphocyte immunotherapy also sell natural killer cell, HLA and cytokine
  tests, infection screens and sperm DNA tests; their page (seed-lit-clinic) claims that half
  of recurrent miscarriages are immunological. RCOG 2023 (rcog-2023) says these tests should
  not be routinely offered outside a research context (Grade C). The engine says so only when
  such a test is proposed, ordered or active in its own context (the order names recurrent
  pregnancy loss as its reason, or names none and recurrent loss is established), never
  unsolicited. A parental karyotype helps after the pregnancy tissue showed an unbalanced
  structural chromosomal abnormality (Grade D) or could not be tested (good practice point).

  Rule: Immunological testing is not routine outside research

    @rsa_invest_immunological
    Scenario: An NK-cell test ordered after three miscarriages
      Given a patient with 3 miscarriages at 6, 7 and 8 weeks
      And an NK cell test is ordered
      When the guidance is evaluated
      Then immunological testing is advised against
      And it comes from rule RSA-INVEST-IMMUNOLOGICAL
      And it is flagged as an inferred alert
      And the explanation cites rcog-2023
      And the explanation marks the claim of seed-lit-clinic as contradicted by rcog-2023
      And its evidence grade mentions "Grade C"

    @rsa_invest_immunological
    Scenario Outline: An NK-cell test ordered <reason> after <losses> miscarriages
      Given a patient with <losses> miscarriages
      And an NK cell test is ordered <reason>
      When the guidance is evaluated
      Then <verdict>

      Examples:
        | reason                 | losses | verdict                                      |
        | to prevent miscarriage | 3      | an alert is raised on immunological testing  |
        | with no reason stated  | 3      | an alert is raised on immunological testing  |
        | for another indication | 3      | there is no guidance on immunological testing |
        | to prevent miscarriage | 1      | an alert is raised on immunological testing  |
        | with no reason stated  | 1      | there is no guidance on immunological testing |
        | for another indication | 1      | there is no guidance on immunological testing |

    @rsa_invest_immunological
    Scenario: An NK-cell test ordered to investigate miscarriage is a stated alert
      Given a patient with 1 miscarriage at 7 weeks
      And an NK cell test is ordered to prevent miscarriage
      When the guidance is evaluated
      Then immunological testing is advised against
      And it is flagged as a stated alert

    @rsa_invest_immunological
    Scenario: An NK-cell test ordered after one miscarriage, with no reason given
      Given a patient with 1 miscarriage at 7 weeks
      And an NK cell test is ordered
      When the guidance is evaluated
      Then there is no guidance on immunological testing

    @rsa_invest_immunological
    Scenario: HLA typing for a patient with no pregnancy history (a man, a transplant work-up)
      Given a patient
      And HLA typing is ordered
      When the guidance is evaluated
      Then the engine gives no recommendations

    @rsa_invest_immunological
    Scenario: No advice on immunological testing when none is proposed
      Given a patient with 3 miscarriages at 6, 7 and 8 weeks
      When the guidance is evaluated
      Then there is no guidance on immunological testing

  Rule: Infection screening is not routine outside research

    @rsa_invest_infection
    Scenario: An infection screen proposed after two miscarriages
      Given a patient with 2 miscarriages at 6 and 9 weeks
      And an infection screen is proposed
      When the guidance is evaluated
      Then infection screening is advised against
      And it comes from rule RSA-INVEST-INFECTION
      And it is flagged as an alert
      And the explanation cites rcog-2023

    @rsa_invest_infection
    Scenario: An infection screen for another indication (antenatal screening) gets nothing
      Given a patient with 2 miscarriages at 6 and 9 weeks
      And an infection screen is ordered for another indication
      When the guidance is evaluated
      Then there is no guidance on infection screening

  Rule: Sperm DNA testing is not routine outside research

    @rsa_invest_sperm_dna
    Scenario: A sperm DNA fragmentation test ordered after three miscarriages
      Given a patient with 3 miscarriages at 6, 7 and 8 weeks
      And a sperm DNA fragmentation test is ordered
      When the guidance is evaluated
      Then sperm DNA testing is advised against
      And it comes from rule RSA-INVEST-SPERM-DNA
      And it is flagged as an alert

  Rule: Parental karyotype after an unbalanced structural abnormality or failed tissue testing

    @rsa_invest_parental_karyotype
    Scenario Outline: Parental karyotype after a tissue result: <result>
      Given a patient with these pregnancy losses:
        | weeks | kind        | fetal karyotype |
        | 7     | miscarriage | normal          |
        | 9     | miscarriage | <result>        |
      When the guidance is evaluated
      Then parental karyotype <advice>

      Examples:
        | result                | advice            |
        | unbalanced-structural | is requested      |
        | failed                | is requested      |
        | abnormal              | is not requested  |
        | normal                | is not requested  |

    @rsa_invest_parental_karyotype
    Scenario: An unbalanced structural abnormality: Grade D
      Given a patient with 1 miscarriage at 8 weeks with an unbalanced structural fetal karyotype
      When the guidance is evaluated
      Then parental karyotype is requested
      And it comes from rule RSA-INVEST-PARENTAL-KARYOTYPE
      And the explanation cites rcog-2023
      And the explanation mentions "Grade D"

    @rsa_invest_parental_karyotype
    Scenario: Tissue testing that failed: a good practice point
      Given a patient with 1 miscarriage at 8 weeks with a failed fetal karyotype
      When the guidance is evaluated
      Then parental karyotype is requested
      And the explanation mentions "good practice point"

    @rsa_invest_parental_karyotype
    Scenario: Beyond reproductive age, no parental karyotype
      Given a patient with 1 miscarriage at 8 weeks with a failed fetal karyotype
      And she is 70 years old
      When the guidance is evaluated
      Then parental karyotype is not requested

    @rsa_invest_parental_karyotype
    Scenario: A tissue karyotype not recorded leaves the question open
      Given a patient with 3 miscarriages at 6, 7 and 8 weeks
      When the guidance is evaluated
      Then parental karyotype is not requested
      And for parental karyotype, the rule RSA-INVEST-PARENTAL-KARYOTYPE is unknown
