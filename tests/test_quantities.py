from fractions import Fraction

import pytest

from kafscale.config.quantities import format_binary_si, parse_byte_count, parse_quantity


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("10Gi", Fraction(10 * 1024**3)),
        ("1.5Gi", Fraction(3 * 1024**3, 2)),
        ("500M", Fraction(500 * 10**6)),
        ("100m", Fraction(1, 10)),
        ("1e3", Fraction(1000)),
        ("+5", Fraction(5)),
        ("-5Ki", Fraction(-5 * 1024)),
        (".5", Fraction(1, 2)),
        ("0", Fraction(0)),
    ],
)
def test_parse_quantity_accepts_the_kubernetes_grammar(text, value):
    parsed = parse_quantity(text)
    assert parsed is not None
    assert parsed[0] == value


@pytest.mark.parametrize("text", ["", "Gi", "10GB", "10 Gi", "ten", "1.2.3", "10gi", "0x10", "1e"])
def test_parse_quantity_refuses_what_kubernetes_refuses(text):
    assert parse_quantity(text) is None


@pytest.mark.parametrize(
    ("text", "byte_count"),
    [
        ("4294967296", 4294967296),
        ("4Gi", 4294967296),
        ("4096Mi", 4294967296),
        ("0.5Gi", 536870912),
        ("1Ki", 1024),
        ("3000000000", 3000000000),
    ],
)
def test_parse_byte_count_takes_integers_and_binary_quantities(text, byte_count):
    assert parse_byte_count(text) == byte_count


@pytest.mark.parametrize("text", ["4G", "4e9", "1.5", "100m", "4GiB", "banana", ""])
def test_parse_byte_count_refuses_decimal_units_and_fractions(text):
    assert parse_byte_count(text) is None


@pytest.mark.parametrize(
    ("byte_count", "text"),
    [
        (0, "0"),
        (1000, "1000"),
        (1024, "1Ki"),
        (4 * 1024**3, "4Gi"),
        (4 * 1024**3 + 512 * 1024**2, "4608Mi"),
        (1024**3 + 512 * 1024**2, "1536Mi"),
        (3000000000, "3000000000"),
        (3000000000 + 512 * 1024**2, "3536870912"),
        (1024**6, "1Ei"),
        (1024**7, "1024Ei"),
        (1536, "1536"),
    ],
)
def test_format_binary_si_is_canonical(byte_count, text):
    assert format_binary_si(byte_count) == text


def test_format_binary_si_refuses_negative_values():
    with pytest.raises(ValueError, match="negative"):
        format_binary_si(-1)
