import smtplib
from email.message import EmailMessage

SMTP_HOST = "smtp.⟦h1:host⟧"


def send(msg: EmailMessage) -> None:
    with smtplib.SMTP(SMTP_HOST, 587) as smtp:
        smtp.starttls()
        smtp.login("ledger-reports", "⟦p1:password!⟧")
        smtp.send_message(msg)
