"""The characters and pairs of characters found in most handling items: their matches are
kept as bits in each search entry (search_entry.common), so that the search frame can list the
entries of a common word without asking the index for a list of half the catalog.

A word such as 运输 or 许可 is in more than half of a province's entries: reading 170,000 ids
out of the index took 30-40 ms at 300,000 handling items, a column of bits of the frame
(catalog.search.frame) about 1 ms. A rarer word is read from the index as before, where it
costs a few milliseconds.

The list is the 256 Chinese characters and pairs in most entries of the bureau's own catalog
(seed/, 199 handling items, ranked by the number of entries, then by the token), taken once
and frozen: the stored bits are positions in it, so a change of the list needs a migration
that rewrites every entry's bits (see migration 0010).
"""

from __future__ import annotations

_LISTED = """
证 人 定 理 申 明 管 管理 表 或 的 办 证明 人身 份 份证 申请 请
身 身份 和 经 法 规 营 规定 人或 条 人民 民 国 机 共 和国 经营
路 运 中 中华 共和 华 华人 民共 理规 或经 法定 代 代表 办人 定代
经办 表人 请表 第 输 运输 道 车 关 可 十 应 行 许 许可 出 道路
发 路运 主 主管 决 机关 向 决定 应当 当 事 内 并 例 条例 作 予
从 可的 车辆 辆 作出 者 不 提 设 业 出申 出许 办理 从事 合 或者
提出 级 营的 的决 理机 件 务 及 在 日 自 有 输经 内作 国道 日内
起 受 政 驶 受理 可证 不予 之 之日 客 日起 者不 自受 予许 可或 二
输条 二十 以 部 部门 门 安 营许 书 关提 新 期 配 员 地 的车 准
新办 物 管机 行政 货 配发 客运 营运 险 情 投 照 站 第二 等 入 全
四 安全 输及 运经 投入 格 货物 输的 项 入运 发车 市 服 服务 输证
向投 报 理之 辆营 辆配 运证 依 核 区 危 危险 请从 县 县级 管部 资
险货 关自 动 并向 所 政许 物运 请书 批 十条 驾 驾驶 依法 单 告 执
资格 区的 变 对 市级 更 格证 的市 设区 请人 位 变更 可法 国行 场
政机 旅 旅客 案 符 符合 路旅 其 定的 货运 车行 公 况 及客 方 施
汽 汽车 用 站管 能 营业 被 运站 在地 情况 所在 报告
"""
COMMON_TOKENS: tuple[str, ...] = tuple(_LISTED.split())
BITS_LENGTH = len(COMMON_TOKENS) // 8  # bytes
POSITION = {token: index for index, token in enumerate(COMMON_TOKENS)}


def common_bits(grams: str) -> bytes:
    """The bits of an entry from its characters and pairs (character_grams): bit i (of byte
    i // 8, from the lowest) is set when the entry has COMMON_TOKENS[i]."""
    return common_bytes(common_mask(grams))


def common_mask(grams: str) -> int:
    """The bits of common_bits() as an integer (bit i for COMMON_TOKENS[i]): the masks of the
    parts of a text, or-ed together, are the mask of the whole."""
    mask = 0
    for token in POSITION.keys() & grams.split():
        mask |= 1 << POSITION[token]
    return mask


def common_bytes(mask: int) -> bytes:
    """A mask as it is stored: bit i in byte i // 8, from the lowest bit."""
    return mask.to_bytes(BITS_LENGTH, "little")
