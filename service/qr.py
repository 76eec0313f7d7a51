"""QR symbols (ISO/IEC 18004) fast enough to print 500 labels at once.

The ``qrcode`` package scores the eight data masks by building and walking a list-of-lists
matrix per mask in Python: about 12 ms per label, most of a 500-label sheet. Here the symbol is
encoded once and each mask is scored on the whole matrix held as one integer (bit ``r * n + c``
is row r, column c; dark = 1), so every penalty rule is a handful of shifts, ANDs and
popcounts. The result is the symbol ``qrcode`` makes for the same payload: the same segments
(its ``optimal_data_chunks``), the same version, the same lowest-penalty mask with its penalty
rules as it applies them (format and version areas light while scoring, ties to the lower mask)
and so the same modules; tests/labels/test_qr.py compares the two module for module.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache

import qrcode.constants
from qrcode import base, util

# Error correction levels as qrcode numbers them (the bits of the format information).
ERROR_CORRECT_Q = qrcode.constants.ERROR_CORRECT_Q

_FINDER = ("1111111", "1000001", "1011101", "1011101", "1011101", "1000001", "1111111")
_ALIGNMENT = ("11111", "10001", "10101", "10001", "11111")
# The finder-like 1:1:3:1:1 run with four light modules after or before it (penalty rule 3),
# from the first module of an 11-module window to the last.
_FINDER_LIKE = ("10111010000", "00001011101")
_PAD_BYTES = (0xEC, 0x11)
_ALNUM = util.ALPHA_NUM
_DARK_RUN = re.compile("1+")


@dataclass(frozen=True, slots=True)
class Symbol:
    """A QR symbol without its quiet zone: ``rows[r][c] == "1"`` where the module is dark."""

    version: int
    mask: int
    rows: tuple[str, ...]

    @property
    def size(self) -> int:
        return len(self.rows)

    def dark_runs(self) -> Iterator[tuple[int, int, int]]:
        """(row, first column, length) of every horizontal run of dark modules."""
        for r, row in enumerate(self.rows):
            for run in _DARK_RUN.finditer(row):
                yield r, run.start(), run.end() - run.start()


def encode(payload: str | bytes, *, error_correction: int = ERROR_CORRECT_Q) -> Symbol:
    """The smallest symbol holding the payload (UTF-8 when text) at this error correction."""
    data = payload.encode("utf-8") if isinstance(payload, str) else payload
    segments = list(util.optimal_data_chunks(data, minimum=20))
    version = _smallest_version(segments, error_correction)
    codewords = _codewords(segments, version, error_correction)
    layout = _layout(version)
    bits = format(int.from_bytes(codewords, "big"), f"0{8 * len(codewords)}b")
    source = "01" + bits
    # Modules past the last codeword (remainder bits) stay light before masking.
    source += "0" * (len(layout.by_row) - len(source))
    by_row = int("".join(map(source.__getitem__, layout.by_row)), 2)
    by_column = int("".join(map(source.__getitem__, layout.by_column)), 2)
    scores = [
        _penalty(by_row ^ row_mask, by_column ^ column_mask, layout)
        for row_mask, column_mask in layout.masks
    ]
    mask = scores.index(min(scores))
    matrix = by_row ^ layout.masks[mask][0] | _format_modules(version, error_correction, mask)
    n = layout.size
    flat = format(matrix, f"0{n * n}b")[::-1]
    return Symbol(version, mask, tuple(flat[i : i + n] for i in range(0, n * n, n)))


def _count_bits(mode: int, length: int) -> int:
    if mode == util.MODE_NUMBER:
        rest = length % 3
        return 10 * (length // 3) + (util.NUMBER_LENGTH[rest] if rest else 0)
    if mode == util.MODE_ALPHA_NUM:
        return 11 * (length // 2) + 6 * (length % 2)
    return 8 * length


def _smallest_version(segments: list[util.QRData], error_correction: int) -> int:
    limits = util.BIT_LIMIT_TABLE[error_correction]
    for version in range(1, 41):
        sizes = util.mode_sizes_for_version(version)
        needed = sum(4 + sizes[s.mode] + _count_bits(s.mode, len(s)) for s in segments)
        if needed <= limits[version]:
            return version
    raise ValueError(f"{sum(map(len, segments))} bytes do not fit in a QR code")


def _segment_bits(segment: util.QRData) -> Iterator[tuple[int, int]]:
    """(value, bit count) pairs of a segment's data."""
    data: bytes = segment.data
    if segment.mode == util.MODE_NUMBER:
        for i in range(0, len(data), 3):
            chunk = data[i : i + 3]
            yield int(chunk), util.NUMBER_LENGTH[len(chunk)]
    elif segment.mode == util.MODE_ALPHA_NUM:
        for i in range(0, len(data), 2):
            chunk = data[i : i + 2]
            if len(chunk) == 2:
                yield _ALNUM.index(chunk[0]) * 45 + _ALNUM.index(chunk[1]), 11
            else:
                yield _ALNUM.index(chunk[0]), 6
    else:
        yield int.from_bytes(data, "big"), 8 * len(data)


def _codewords(segments: list[util.QRData], version: int, error_correction: int) -> bytes:
    """Data and error correction codewords, interleaved block by block."""
    blocks = base.rs_blocks(version, error_correction)
    capacity = sum(block.data_count for block in blocks)
    sizes = util.mode_sizes_for_version(version)
    value, length = 0, 0
    for segment in segments:
        parts = [(segment.mode, 4), (len(segment), sizes[segment.mode])]
        for part, bits in [*parts, *_segment_bits(segment)]:
            value, length = (value << bits) | part, length + bits
    terminator = min(4, 8 * capacity - length)
    length += terminator
    value <<= terminator + (-length % 8)
    length += -length % 8
    data = value.to_bytes(length // 8, "big")
    data += bytes(_PAD_BYTES[i % 2] for i in range(capacity - len(data)))

    data_blocks: list[bytes] = []
    ec_blocks: list[bytes] = []
    offset = 0
    for block in blocks:
        chunk = data[offset : offset + block.data_count]
        offset += block.data_count
        data_blocks.append(chunk)
        ec_blocks.append(_reed_solomon(chunk, block.total_count - block.data_count))
    return _interleave(data_blocks) + _interleave(ec_blocks)


def _interleave(blocks: list[bytes]) -> bytes:
    longest = max(map(len, blocks))
    return bytes(block[i] for i in range(longest) for block in blocks if i < len(block))


@lru_cache(maxsize=1)
def _gf_tables() -> tuple[tuple[int, ...], tuple[int, ...]]:
    """exp and log tables of GF(256) with the QR polynomial x^8 + x^4 + x^3 + x^2 + 1."""
    exp = [0] * 512
    log = [0] * 256
    value = 1
    for i in range(255):
        exp[i], log[value] = value, i
        value <<= 1
        if value & 0x100:
            value ^= 0x11D
    for i in range(255, 512):
        exp[i] = exp[i - 255]
    return tuple(exp), tuple(log)


@lru_cache(maxsize=32)
def _generator_products(degree: int) -> tuple[int, ...]:
    """For each byte f, f times the generator polynomial's coefficients after the leading 1,
    as one big-endian integer of ``degree`` bytes."""
    exp, log = _gf_tables()
    generator = [1]
    for i in range(degree):  # multiply by (x - a^i)
        shifted = [*generator, 0]
        for j, coefficient in enumerate(generator):
            if coefficient:
                shifted[j + 1] ^= exp[log[coefficient] + i]
        generator = shifted
    return tuple(
        int.from_bytes(bytes(exp[log[f] + log[g]] if f and g else 0 for g in generator[1:]))
        for f in range(256)
    )


def _reed_solomon(data: bytes, degree: int) -> bytes:
    """The error correction codewords: the remainder of data * x^degree by the generator,
    kept as one integer of ``degree`` bytes (shifting it is multiplying by x)."""
    products = _generator_products(degree)
    top = 8 * (degree - 1)
    keep = (1 << top) - 1
    remainder = 0
    for byte in data:
        factor = byte ^ (remainder >> top)
        remainder = ((remainder & keep) << 8) ^ products[factor]
    return remainder.to_bytes(degree, "big")


@dataclass(frozen=True, slots=True)
class _Layout:
    """Where everything sits in a symbol of one version.

    ``by_row`` and ``by_column`` say, for every bit of the matrix integer (most significant
    first), which character of ``"01" + data bits`` it takes: 0 light, 1 dark, 2 + k data
    bit k. ``by_column`` is the transposed matrix (bit ``c * n + r``), on which the column rules
    run as the row rules do. ``masks`` hold the data modules each mask inverts, both ways.
    """

    size: int
    by_row: tuple[int, ...]
    by_column: tuple[int, ...]
    masks: tuple[tuple[int, int], ...]
    # Bits where a window starting there stays inside its row: for pairs, 5 and 11 modules.
    pairs: int
    fives: int
    elevens: int
    # Bits where a 2 x 2 block starting there stays inside the symbol.
    blocks: int


_MASKS: tuple[Callable[[int, int], bool], ...] = (
    lambda r, c: (r + c) % 2 == 0,
    lambda r, c: r % 2 == 0,
    lambda r, c: c % 3 == 0,
    lambda r, c: (r + c) % 3 == 0,
    lambda r, c: (r // 2 + c // 3) % 2 == 0,
    lambda r, c: (r * c) % 2 + (r * c) % 3 == 0,
    lambda r, c: ((r * c) % 2 + (r * c) % 3) % 2 == 0,
    lambda r, c: ((r * c) % 3 + (r + c) % 2) % 2 == 0,
)


def _bits_where(n: int, keep: Callable[[int, int], bool]) -> int:
    """The integer with bit r * n + c set where keep(r, c)."""
    return sum(1 << (r * n + c) for r in range(n) for c in range(n) if keep(r, c))


def _function_modules(version: int) -> list[list[int | None]]:
    """Finder, separator, timing and alignment patterns (1 dark, 0 light); the format,
    version and dark-module places reserved as light; None where data goes."""
    n = 4 * version + 17
    grid: list[list[int | None]] = [[None] * n for _ in range(n)]
    for top, left in ((0, 0), (0, n - 7), (n - 7, 0)):
        for r in range(-1, 8):
            for c in range(-1, 8):
                if 0 <= top + r < n and 0 <= left + c < n:
                    inside = 0 <= r < 7 and 0 <= c < 7
                    grid[top + r][left + c] = int(inside and _FINDER[r][c] == "1")
    centres = util.pattern_position(version)
    for row in centres:
        for col in centres:
            if grid[row][col] is not None:  # overlaps a finder pattern
                continue
            for r in range(5):
                for c in range(5):
                    grid[row - 2 + r][col - 2 + c] = int(_ALIGNMENT[r][c] == "1")
    for i in range(8, n - 8):  # timing patterns, where an alignment pattern left room
        if grid[i][6] is None:
            grid[i][6] = int(i % 2 == 0)
        if grid[6][i] is None:
            grid[6][i] = int(i % 2 == 0)
    for r, c in _format_places(n):
        grid[r][c] = 0
    grid[n - 8][8] = 0
    if version >= 7:
        for r, c in _version_places(n):
            grid[r][c] = 0
    return grid


def _format_places(n: int) -> list[tuple[int, int]]:
    """The 15 format bits, least significant first, in both copies."""
    down = [(i, 8) if i < 6 else (i + 1, 8) if i < 8 else (n - 15 + i, 8) for i in range(15)]
    across = [
        (8, n - 1 - i) if i < 8 else (8, 15 - i) if i == 8 else (8, 14 - i) for i in range(15)
    ]
    return down + across


def _version_places(n: int) -> list[tuple[int, int]]:
    """The 18 version bits, least significant first, in both copies."""
    places = [(i // 3, n - 11 + i % 3) for i in range(18)]
    return places + [(c, r) for r, c in places]


@lru_cache(maxsize=40)
def _layout(version: int) -> _Layout:
    n = 4 * version + 17
    grid = _function_modules(version)
    cell: dict[tuple[int, int], int] = {
        (r, c): value for r in range(n) for c, value in enumerate(grid[r]) if value is not None
    }
    data_places: list[tuple[int, int]] = []
    upward = True
    for right in range(n - 1, 0, -2):
        right = right - 1 if right <= 6 else right  # the vertical timing column is skipped
        rows = range(n - 1, -1, -1) if upward else range(n)
        for r in rows:
            for c in (right, right - 1):
                if (r, c) not in cell:
                    cell[r, c] = 2 + len(data_places)
                    data_places.append((r, c))
        upward = not upward

    def mask_bits(mask: int, transposed: bool) -> int:
        test = _MASKS[mask]
        bits = 0
        for r, c in data_places:
            if test(r, c):
                bits |= 1 << (c * n + r if transposed else r * n + c)
        return bits

    return _Layout(
        size=n,
        by_row=tuple(cell[divmod(p, n)] for p in range(n * n - 1, -1, -1)),
        by_column=tuple(cell[divmod(p, n)[::-1]] for p in range(n * n - 1, -1, -1)),
        masks=tuple((mask_bits(m, False), mask_bits(m, True)) for m in range(8)),
        pairs=_bits_where(n, lambda r, c: c <= n - 2),
        fives=_bits_where(n, lambda r, c: c <= n - 5),
        elevens=_bits_where(n, lambda r, c: c <= n - 11),
        blocks=_bits_where(n, lambda r, c: r <= n - 2 and c <= n - 2),
    )


def _line_penalty(matrix: int, layout: _Layout) -> tuple[int, int]:
    """Rules 1 and 3 along the rows of matrix, and the bits where a module equals its right
    neighbour (for rule 2)."""
    same = ~(matrix ^ (matrix >> 1)) & layout.pairs
    fives = same & (same >> 1) & (same >> 2) & (same >> 3) & layout.fives
    starts = fives & ~(same << 1)
    # A run of length L >= 5 has L - 4 windows of five and one start: L - 2 points.
    runs = fives.bit_count() + 2 * starts.bit_count()
    light = ~matrix
    finder_like = 0
    for pattern in _FINDER_LIKE:
        found = layout.elevens
        for k, module in enumerate(pattern):
            found &= (matrix if module == "1" else light) >> k
        finder_like += found.bit_count()
    return runs + 40 * finder_like, same


def _penalty(by_row: int, by_column: int, layout: _Layout) -> int:
    n = layout.size
    rows, same_across = _line_penalty(by_row, layout)
    columns, _ = _line_penalty(by_column, layout)
    same_down = ~(by_row ^ (by_row >> n))
    blocks = same_across & (same_across >> n) & same_down & layout.blocks
    # Rule 4 in qrcode's own arithmetic, so that a tie breaks as it does.
    percent = float(by_row.bit_count()) / (n**2)
    balance = int(abs(percent * 100 - 50) / 5) * 10
    return rows + columns + 3 * blocks.bit_count() + balance


@lru_cache(maxsize=256)
def _format_modules(version: int, error_correction: int, mask: int) -> int:
    """The dark modules of the format and version information and the dark module."""
    n = 4 * version + 17
    bits = 1 << ((n - 8) * n + 8)
    info = util.BCH_type_info((error_correction << 3) | mask)
    for i, (r, c) in enumerate(_format_places(n)):
        if info >> (i % 15) & 1:
            bits |= 1 << (r * n + c)
    if version >= 7:
        number = util.BCH_type_number(version)
        for i, (r, c) in enumerate(_version_places(n)):
            if number >> (i % 18) & 1:
                bits |= 1 << (r * n + c)
    return bits
