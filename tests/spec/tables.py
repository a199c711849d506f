"""Small workspace tables shared by the spec tests."""

PERSON = """
    pseudonym | sex | birth_year:integer | commune:string:key | born:date
    p1        | F   | 1980               | Esch               | 1980-03-01
    p2        | M   | 1990               | Esch               | 1990-07-15
    p3        | F   | 2000               | Luxembourg         | 2000-12-31
    p4        | M   |                    | Luxembourg         |
    p5        | F   | 1975               |                    | 1975-01-20
"""

CLAIM = """
    pseudonym | year:integer | care_type | amount:decimal
    p1        | 2020         | gp        | 10.0
    p1        | 2021         | hospital  | 200.0
    p2        | 2020         | gp        | 20.0
    p3        | 2021         | gp        | 30.0
    p3        | 2021         | dental    | -5.0
    p9        | 2020         | gp        | 1.0
"""

COMMUNE = """
    commune:string:key | canton
    Esch               | Esch
    Luxembourg         | Luxembourg
"""

WORKSPACE = {"person": PERSON, "claim": CLAIM, "commune": COMMUNE}
