"""A realistic run result built by hand, for the render tests (and scripts/render_check.sh).

Four capital sources; decreases and increases with Vietnamese names; one pool with an
unallocated remainder (Vốn xổ số kiến thiết); one override on an increase. Amounts are not
round numbers so the tests catch any loss of a đồng. `make_large_result(n)` scales it up.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from disbursement.model import (
    PoolResult,
    Proposal,
    ProposalLine,
    RoundInfo,
    RunResult,
    SourceRef,
)
from disbursement.review.rounds import summarise

SOURCES = {
    "NSDP_CAN_DOI": "Vốn cân đối ngân sách địa phương",
    "NSDP_TSDD": "Vốn từ nguồn thu tiền sử dụng đất",
    "NSDP_XSKT": "Vốn xổ số kiến thiết",
    "NSTW_TN": "Vốn ngân sách trung ương (vốn trong nước)",
}
M = 1_000_000  # đồng per triệu

# code, name, investor, source, plan, disbursed, flagged, kind, amount, reason, override
LINES = [
    (
        "7812301",
        "Đường giao thông liên xã Chiềng Sơn - Lóng Sập, huyện Mộc Châu",
        "Ban QLDA ĐTXD các công trình giao thông tỉnh",
        "NSDP_CAN_DOI",
        12_500 * M,
        2_149_563_000,
        True,
        "decrease",
        9_000 * M,
        "UNABLE_TO_DISBURSE",
        None,
    ),
    (
        "7812302",
        "Kè chống sạt lở bờ suối Nậm La, thành phố Sơn La",
        "Ban QLDA ĐTXD các công trình nông nghiệp và PTNT tỉnh",
        "NSDP_CAN_DOI",
        8_000 * M,
        1_250_437_000,
        True,
        "decrease",
        6_749_563_000,
        "SLOW_DISBURSEMENT",
        None,
    ),
    (
        "7812303",
        "Trường THPT Chiềng Khương, huyện Sông Mã",
        "Ban QLDA ĐTXD các công trình dân dụng và công nghiệp tỉnh",
        "NSDP_CAN_DOI",
        6_000 * M,
        5_210 * M,
        False,
        "increase",
        4_500 * M,
        "PAY_COMPLETED_VOLUME",
        None,
    ),
    (
        "7812304",
        "Cầu Tà Làng qua sông Đà, huyện Mường La",
        "Ban QLDA ĐTXD các công trình giao thông tỉnh",
        "NSDP_CAN_DOI",
        20_000 * M,
        14_000 * M,
        False,
        "increase",
        11_249_563_000,
        "ADDITIONAL_NEED",
        {"reason": "Đề nghị của chủ đầu tư tại Văn bản số 215/BQLDA-KH", "approver": "Lò Văn Hùng"},
    ),
    (
        "7812305",
        "Hạ tầng khu tái định cư bản Phiêng Ban, huyện Bắc Yên",
        "UBND huyện Bắc Yên",
        "NSDP_TSDD",
        4_350_125_000,
        310_000_000,
        True,
        "decrease",
        3_040_125_000,
        "UNABLE_TO_DISBURSE",
        None,
    ),
    (
        "7812306",
        "Trụ sở làm việc UBND xã Chiềng Mung, huyện Mai Sơn",
        "UBND huyện Mai Sơn",
        "NSDP_TSDD",
        3_000 * M,
        2_640 * M,
        False,
        "increase",
        3_040_125_000,
        "PAY_COMPLETED_VOLUME",
        None,
    ),
    (
        "7812307",
        "Trạm y tế xã Mường Lạn, huyện Sốp Cộp",
        "UBND huyện Sốp Cộp",
        "NSDP_XSKT",
        2_500 * M,
        265_433_000,
        True,
        "decrease",
        1_234_567_000,
        "FORECAST_SHORTFALL",
        None,
    ),
    (
        "7812308",
        "Nhà lớp học Trường Tiểu học Tô Hiệu, thành phố Sơn La",
        "UBND thành phố Sơn La",
        "NSDP_XSKT",
        1_800 * M,
        1_700 * M,
        False,
        "increase",
        1_000 * M,
        "PAY_COMPLETED_VOLUME",
        None,
    ),
    (
        "7812309",
        "Thủy lợi Nậm Hăn, huyện Quỳnh Nhai",
        "Ban QLDA ĐTXD các công trình nông nghiệp và PTNT tỉnh",
        "NSTW_TN",
        30_000 * M,
        4_870_250_000,
        True,
        "decrease",
        15_000 * M,
        "UNABLE_TO_DISBURSE",
        None,
    ),
    (
        "7812310",
        "Đường tránh Quốc lộ 6 đoạn qua thị trấn Ít Ong, huyện Mường La",
        "Ban QLDA ĐTXD các công trình giao thông tỉnh",
        "NSTW_TN",
        45_000 * M,
        30_000 * M,
        False,
        "increase",
        15_000 * M,
        "PAY_COMPLETED_VOLUME",
        None,
    ),
]
# Lines in scope of the round but neither decreased nor increased, and one out of scope.
OTHER_LINES = [
    (
        "7812311",
        "Bệnh viện đa khoa huyện Thuận Châu",
        "Sở Y tế",
        "NSDP_CAN_DOI",
        15_000 * M,
        9_000 * M,
        False,
        True,
    ),
    (
        "7812312",
        "Nâng cấp đường Chiềng Ơn - Mường Giôn",
        "UBND huyện Quỳnh Nhai",
        "NSDP_TSDD",
        5_000 * M,
        3_100 * M,
        False,
        True,
    ),
    (
        "7812313",
        "Sân vận động trung tâm huyện Vân Hồ (khởi công mới)",
        "UBND huyện Vân Hồ",
        "NSDP_XSKT",
        4_000 * M,
        0,
        False,
        False,
    ),
]

PRIORITY = {
    "id": "law-39-2019",
    "title": "Thứ tự ưu tiên bố trí vốn theo Điều 51 Luật Đầu tư công số 39/2019/QH14",
    "legal_basis": "Luật Đầu tư công số 39/2019/QH14, Điều 51",
    "tiers": [
        {
            "id": "completed",
            "label_vi": "Dự án đã hoàn thành, bàn giao đưa vào sử dụng nhưng chưa bố trí đủ vốn",
            "label_en": "Completed projects not yet fully funded",
        },
        {
            "id": "oda_counterpart",
            "label_vi": "Vốn đối ứng cho dự án sử dụng vốn ODA và vốn vay ưu đãi nước ngoài",
            "label_en": "Counterpart capital for ODA projects",
        },
        {
            "id": "continuing",
            "label_vi": "Dự án chuyển tiếp thực hiện theo tiến độ được phê duyệt",
            "label_en": "Continuing projects on their approved schedule",
        },
        {
            "id": "new_start",
            "label_vi": "Dự án khởi công mới đủ điều kiện",
            "label_en": "New-start projects meeting the conditions",
        },
    ],
}

ROUND = RoundInfo(
    rule_id="R1",
    number=1,
    name="Đợt 1",
    year=2022,
    as_of=dt.date(2022, 6, 30),
    description="Rà soát các dự án chuyển tiếp có tỷ lệ giải ngân đến ngày 30/6 dưới 50% kế "
    "hoạch vốn để đề xuất thu hồi, điều chuyển vốn",
    legal_basis="Quyết định số 79/QĐ-UBND ngày 12/01/2022 của UBND tỉnh Sơn La, mục II.3.1",
    threshold_pct=50,
    scope="dự án chuyển tiếp",
)


def _build(lines, others, info=ROUND, policy=None) -> RunResult:
    rows, decreases, increases = [], [], []
    for i, (
        code,
        name,
        investor,
        source,
        plan,
        disb,
        flagged,
        kind,
        amount,
        reason,
        override,
    ) in enumerate(lines):
        rows.append((code, name, investor, source, plan, disb, flagged, True, i + 10))
        after = plan - amount if kind == "decrease" else plan + amount
        line = ProposalLine(
            kind=kind,
            project_code=code,
            project_name=name,
            investor=investor,
            capital_source=source,
            capital_source_label=SOURCES[source],
            pool=source,
            plan_dong=plan,
            disbursed_dong=disb,
            amount_dong=amount,
            plan_after_dong=after,
            reason=reason,
            source=SourceRef("son_la_2022.xlsx", "KH 2022", i + 10),
            tier=None if kind == "decrease" else "continuing",
            override=override,
        )
        (decreases if kind == "decrease" else increases).append(line)
    for j, (code, name, investor, source, plan, disb, flagged, in_scope) in enumerate(others):
        rows.append((code, name, investor, source, plan, disb, flagged, in_scope, len(lines) + j + 10))
    plan = pd.DataFrame(
        rows,
        columns=[
            "project_code",
            "project_name",
            "investor",
            "capital_source",
            "plan_dong",
            "disbursed_dong",
            "flagged",
            "in_scope",
            "row",
        ],
    )
    plan["capital_source_label"] = plan["capital_source"].map(SOURCES)
    plan["rule_id"] = info.rule_id
    pools = []
    for source in dict.fromkeys([ln.capital_source for ln in decreases + increases]):
        recalled = sum(ln.amount_dong for ln in decreases if ln.capital_source == source)
        allocated = sum(ln.amount_dong for ln in increases if ln.capital_source == source)
        pools.append(PoolResult(source, source, SOURCES[source], recalled, allocated, recalled - allocated))
    flags = plan[plan["flagged"]].copy()
    proposal = Proposal(
        pools=tuple(pools),
        decreases=tuple(decreases),
        increases=tuple(increases),
        policy=policy
        if policy is not None
        else {"recall": {"policy": "unable_portion"}, "priority": PRIORITY},
    )
    return RunResult(
        round=info,
        plan=plan,
        flags=flags,
        issues=[],
        summary=summarise(plan, info),
        proposal=proposal,
        inputs=("son_la_2022.xlsx",),
        rules_path="rules/son-la-2022.yaml",
    )


def make_result(first_name: str | None = None, policy: dict | None = None) -> RunResult:
    """The hand-built round-1 result; `first_name` replaces the first decrease's name."""
    lines = list(LINES)
    if first_name is not None:
        lines[0] = (lines[0][0], first_name, *lines[0][2:])
    return _build(lines, OTHER_LINES, policy=policy)


def make_large_result(n: int = 1000) -> RunResult:
    """n proposal lines (half decreases, half increases), balanced per source but for XSKT."""
    sources = list(SOURCES)
    lines = []
    for i in range(n // 2):
        source = sources[i % len(sources)]
        plan = (1_000 + 37 * i) * M + 123_000
        disb = plan // (3 + i % 5)
        amount = (plan - disb) // 2
        lines.append(
            (
                f"78{i:05d}",
                f"Dự án số {i + 1} - đường nội bản, huyện Mộc Châu",
                "UBND huyện Mộc Châu",
                source,
                plan,
                disb,
                True,
                "decrease",
                amount,
                "UNABLE_TO_DISBURSE",
                None,
            )
        )
        keep = amount if source != "NSDP_XSKT" else amount - 1_000_000
        lines.append(
            (
                f"79{i:05d}",
                f"Công trình số {i + 1} - trường mầm non, huyện Mai Sơn",
                "UBND huyện Mai Sơn",
                source,
                plan,
                plan - plan // 10,
                False,
                "increase",
                keep,
                "PAY_COMPLETED_VOLUME",
                None,
            )
        )
    return _build(lines, [])
