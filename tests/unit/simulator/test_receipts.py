"""simulator/receipts.py: the merchant and customer copies of a card slip."""

from __future__ import annotations

from datetime import UTC, datetime

from simulator.receipts import WIDTH, PaymentSlip, payment_receipt

SLIP = PaymentSlip("refund", 8040, "APPROVED", "Visa", "XXXXXXXXXXXX1234", "000002", "123456789012", "654321",
                   2187, 1, datetime(2026, 11, 22, 23, 0, tzinfo=UTC))


def test_both_copies_fit_the_slip_and_say_what_they_are() -> None:
    merchant, customer = payment_receipt(SLIP, "merchant"), payment_receipt(SLIP, "customer")
    assert "MERCHANT COPY" in merchant and "CUSTOMER COPY" in customer
    for text in (merchant, customer):
        assert all(len(line) <= WIDTH for line in text.split("\n"))
        assert "REFUND" in text and "AUD $80.40" in text and "23 Nov 2026 10:00" in text
    assert "AUTH" in merchant and "AUTH" not in customer
