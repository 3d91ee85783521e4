Feature: Immunotherapy: intravenous immunoglobulin and lymphocyte immunotherapy
  Immunoglobulin is not supported for recurrent miscarriage, with or without antiphospholipid
  syndrome (seed-ivig: Category 2b, evidence of no probable benefit), and the limited evidence
  for high doses is shown beside that advice (yamada-2022). Lymphocyte immunotherapy ("active
  immunotherapy", partner or donor lymphocyte injection) is unsupported: no benefit in a trial,
  and worse among the women who conceived (ober-1999), investigational only (fda-lit-2002). A clinic's claim that it helps
  (seed-lit-clinic) is shown as contradicted, never as guidance.

  Rule: Intravenous immunoglobulin (IVIg) is not supported

    @rsa_immuno_ivig
    Scenario: IVIg proposed after two miscarriages is an alert
      Given a patient with 2 miscarriages at 6 and 8 weeks
      And IVIg is proposed
      When the guidance is evaluated
      Then IVIg is advised against
      And it comes from rule RSA-IMMUNO-IVIG
      And it is flagged as an alert
      And the explanation cites seed-ivig and wong-2014
      And its evidence grade mentions "Category 2b"
      And the explanation shows conflicting evidence from yamada-2022

    @rsa_immuno_ivig
    Scenario: Immunoglobulin is not supported with antiphospholipid syndrome either
      Given a patient with 3 consecutive miscarriages at 7, 8 and 9 weeks
      And lupus anticoagulant was positive on 2026-01-05 and 2026-04-10
      When the guidance is evaluated
      Then intravenous immunoglobulin is advised against
      And it is not flagged as an alert
      And heparin plus low-dose aspirin is recommended

    @rsa_immuno_ivig
    Scenario: IVIg ordered to prevent miscarriage with no pregnancy history recorded
      Given a patient
      And intravenous immunoglobulin is ordered to prevent miscarriage
      When the guidance is evaluated
      Then IVIg is advised against
      And it is flagged as a stated alert

    @rsa_immuno_ivig
    Scenario: IVIg ordered with no reason and no pregnancy history: it may be for another indication
      Given a patient
      And intravenous immunoglobulin is ordered
      When the guidance is evaluated
      Then there is no guidance on IVIg

    @rsa_immuno_ivig
    Scenario: No advice on IVIg after a single miscarriage when none is proposed
      Given a patient with 1 miscarriage at 7 weeks
      And no treatment is proposed, ordered or active
      When the guidance is evaluated
      Then there is no guidance on IVIg
      And for IVIg, the rule RSA-IMMUNO-IVIG is not met

    @rsa_immuno_ivig
    Scenario: With neither the history nor the treatments recorded, the IVIg rule is undecided
      Given a patient
      When the guidance is evaluated
      Then IVIg is not advised against because the treatments are not recorded
      And for IVIg, the rule RSA-IMMUNO-IVIG is unknown

  Rule: Lymphocyte immunotherapy is unsupported, and the clinic's claim is contradicted

    @rsa_immuno_lit
    Scenario: Lymphocyte immunotherapy proposed by a clinic
      Given a patient with 3 miscarriages at 6, 7 and 8 weeks
      And lymphocyte immunotherapy is proposed
      When the guidance is evaluated
      Then lymphocyte immunotherapy is advised against
      And it comes from rule RSA-IMMUNO-LIT
      And it is flagged as an alert
      And the explanation cites ober-1999, wong-2014, fda-lit-2002 and eshre-2022
      And the explanation marks the claim of seed-lit-clinic as contradicted by ober-1999, wong-2014 and fda-lit-2002
      And the explanation mentions "36% against 48%"
      And the explanation mentions "not significant overall"
      And the explanation mentions "among women who conceived, 46% against 65%"

    @rsa_immuno_lit
    Scenario Outline: Lymphocyte immunotherapy that is <status>
      Given a patient with 2 miscarriages at 6 and 8 weeks
      And active immunotherapy is <status>
      When the guidance is evaluated
      Then lymphocyte immunotherapy is advised against
      And it <alert>

      Examples:
        | status    | alert                      |
        | proposed  | is flagged as an alert     |
        | ordered   | is flagged as an alert     |
        | active    | is flagged as an alert     |
        | completed | is not flagged as an alert |

    @rsa_immuno_lit
    Scenario: Lymphocyte immunotherapy ordered after one loss is still an alert
      Given a patient with 1 miscarriage at 9 weeks
      And LIT is ordered
      When the guidance is evaluated
      Then the finding recurrent pregnancy loss is not established
      But lymphocyte immunotherapy is advised against
      And it is flagged as an alert

    @rsa_immuno_lit
    Scenario: No advice on lymphocyte immunotherapy after one loss when none is proposed
      Given a patient with 1 miscarriage at 9 weeks
      And no treatment is proposed, ordered or active
      When the guidance is evaluated
      Then there is no guidance on lymphocyte immunotherapy
      And lymphocyte immunotherapy is not advised against because recurrent pregnancy loss is not established

  Rule: IVIg has other indications; lymphocyte immunotherapy has none outside research
    IVIg is given for immune thrombocytopenia and immunodeficiency: the engine advises against
    it only with recurrent loss or an order that says it is to prevent miscarriage, and never
    against an order for another stated reason. Lymphocyte immunotherapy is investigational
    only (fda-lit-2002): it is always alerted.

    @rsa_immuno_ivig @rsa_immuno_lit
    Scenario Outline: <treatment> ordered <reason> after <losses> miscarriages
      Given a patient with <losses> miscarriages
      And <treatment> is ordered <reason>
      When the guidance is evaluated
      Then <verdict>

      Examples:
        | treatment                 | reason                 | losses | verdict                                           |
        | IVIg                      | to prevent miscarriage | 2      | an alert is raised on IVIg                         |
        | IVIg                      | with no reason stated  | 2      | an alert is raised on IVIg                         |
        | IVIg                      | for another indication | 2      | there is no guidance on IVIg                       |
        | IVIg                      | to prevent miscarriage | 0      | an alert is raised on IVIg                         |
        | IVIg                      | with no reason stated  | 0      | there is no guidance on IVIg                       |
        | IVIg                      | for another indication | 0      | there is no guidance on IVIg                       |
        | lymphocyte immunotherapy  | to prevent miscarriage | 2      | an alert is raised on lymphocyte immunotherapy     |
        | lymphocyte immunotherapy  | with no reason stated  | 2      | an alert is raised on lymphocyte immunotherapy     |
        | lymphocyte immunotherapy  | for another indication | 2      | an alert is raised on lymphocyte immunotherapy     |
        | lymphocyte immunotherapy  | to prevent miscarriage | 0      | an alert is raised on lymphocyte immunotherapy     |
        | lymphocyte immunotherapy  | with no reason stated  | 0      | an alert is raised on lymphocyte immunotherapy     |
        | lymphocyte immunotherapy  | for another indication | 0      | an alert is raised on lymphocyte immunotherapy     |

    @rsa_immuno_ivig
    Scenario: IVIg ordered for another indication: why not says the engine stays out
      Given a patient with 3 miscarriages
      And IVIg is ordered for another indication
      When the guidance is evaluated
      Then there is no guidance on IVIg
      And for IVIg, the rule RSA-IMMUNO-IVIG is blocked
