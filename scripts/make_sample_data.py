"""Regenerate data/sk-220-datasheet.pdf and data/onboarding-checklist.docx (the texts live here)."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.pdfgen import make_pdf  # noqa: E402

DATASHEET = [
    """SK-220 Collaborative Robotic Arm - Datasheet, revision C (2026)

    The SK-220 is a six-axis collaborative arm for assembly, machine tending and laboratory automation.
    It works next to people without a safety fence when it runs in collaborative mode.

    Specifications

    Payload: 12 kg. Reach: 1,300 mm. Repeatability: plus or minus 0.03 mm. Weight: 33.5 kg.
    Maximum tool speed: 2 m/s (collaborative mode: 250 mm/s). Protection class: IP54.
    Power supply: 100-240 V AC, 50/60 Hz, typical consumption 350 W.
    Operating temperature: 0 to 45 degrees Celsius.""",
    """Error codes

    E-101 Joint overcurrent: the load exceeds the payload or a joint is blocked. Remove the obstruction and
    reduce the payload, then acknowledge the error on the teach pendant.

    E-104 Encoder mismatch: the two encoders of a joint disagree by more than 0.5 degrees. Power the arm off
    for 30 seconds. If the error returns, the joint module must be replaced by service.

    E-117 Emergency stop active: an emergency stop button is pressed or the safety circuit is open.
    Release the button and reset the safety controller.

    E-130 Communication timeout: the controller lost contact with the arm for more than 100 ms. Check the
    cable between controller and arm base.""",
    """Maintenance

    Inspect the joint seals every 2,000 operating hours. Replace the gearbox grease every 10,000 operating
    hours or every two years, whichever comes first. The battery of the position memory lasts about five
    years; a warning appears on the teach pendant 60 days before it runs out.

    Warranty and support

    The SK-220 carries a warranty of 36 months from delivery. Service requests go to
    service@harborlane.example or the service line +31 20 555 0142, available 24 hours a day.""",
]

CHECKLIST = [
    ("Onboarding checklist for new employees", "Title"),
    ("Day 1: collect your laptop and hardware security key from the IT desk on floor 2.", None),
    ("Day 1: set up the password manager and multi-factor authentication (see IT Security Policy SEC-12).", None),
    ("Day 2: meet your onboarding buddy; they answer practical questions during your first month.", None),
    ("Week 1: complete the safety training for the robotics lab (2 hours, required before entering the lab).", None),
    ("Week 1: read the Employee Handbook and the Travel and Expense Policy.", None),
    ("Week 2: agree your first 90-day goals with your manager.", None),
]


def main() -> None:
    pdf = make_pdf([_dedent(p) for p in DATASHEET],
                   title="SK-220 Datasheet")
    (ROOT / "data" / "sk-220-datasheet.pdf").write_bytes(pdf)

    import docx

    document = docx.Document()
    document.core_properties.title = "Onboarding checklist"
    for text, style in CHECKLIST:
        document.add_paragraph(text, style=style) if style else document.add_paragraph(text, style="List Bullet")
    table = document.add_table(rows=2, cols=2)
    for row, (who, contact) in zip(table.rows, [("IT desk", "it@harborlane.example"),
                                                 ("People Operations", "people@harborlane.example")]):
        row.cells[0].text, row.cells[1].text = who, contact
    document.save(str(ROOT / "data" / "onboarding-checklist.docx"))


def _dedent(text: str) -> str:
    return "\n".join(line.strip() for line in text.splitlines())


if __name__ == "__main__":
    main()
