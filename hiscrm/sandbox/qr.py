"""Login QR codes: real PNGs a phone could read, each encoding its own login attempt's token."""

from __future__ import annotations

import base64
import io

import qrcode


def payload(token: str) -> str:
    """What the QR encodes: the scan URL the Douyin app would open, carrying the attempt's token."""
    return f"https://aweme.snssdk.com/passport/web/scan_qrcode/?token={token}&aid=2906"


def png(text: str) -> bytes:
    code = qrcode.QRCode(box_size=5, border=2, error_correction=qrcode.constants.ERROR_CORRECT_M)
    code.add_data(text)
    code.make(fit=True)
    buffer = io.BytesIO()
    code.make_image().save(buffer, format="PNG")
    return buffer.getvalue()


def png_base64(token: str) -> str:
    return base64.b64encode(png(payload(token))).decode()
