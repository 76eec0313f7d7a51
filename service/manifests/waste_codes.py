"""The hazardous-waste codes a transfer manifest (转移联单) declares, per waste category.

Source: 国家危险废物名录 (2021年版), class HW01 医疗废物, industry 卫生 (841); the code's
digits are industry (841), sequence (001-005) and class (01). Hazard characteristics as the
名录 abbreviates them: In 感染性 Infectivity, T 毒性 Toxicity, C 腐蚀性 Corrosivity,
I 易燃性 Ignitability, R 反应性 Reactivity.

Package types are those of HJ 421-2008 (医疗废物专用包装袋、容器和警示标志标准): sharps go in
sharps boxes (利器盒); infectious, pathological and pharmaceutical waste in waste bags (包装袋);
chemical waste, often liquid, in closed containers (周转箱/桶).
"""

from __future__ import annotations

from dataclasses import dataclass

WASTE_CLASS = "HW01 医疗废物"


@dataclass(frozen=True, slots=True)
class WasteCode:
    code: str
    characteristic: str
    package: str


WASTE_CODES: dict[str, WasteCode] = {
    "infectious": WasteCode("841-001-01", "In 感染性", "包装袋 Bag"),
    "sharps": WasteCode("841-002-01", "In 感染性", "利器盒 Sharps box"),
    "pathological": WasteCode("841-003-01", "In 感染性", "包装袋 Bag"),
    "chemical": WasteCode(
        "841-004-01", "T/C/I/R 毒性/腐蚀性/易燃性/反应性", "周转箱(桶) Container"
    ),
    "pharmaceutical": WasteCode("841-005-01", "T 毒性", "包装袋 Bag"),
}
