'use strict';
// QR login: show a QR, poll its status, verify by SMS when asked, follow the redirect when confirmed.

const POLL_MS = 1000;
const qrImage = document.getElementById('qrcode-img');
const expiredOverlay = document.getElementById('qrcode-expired');
const scanTip = document.getElementById('scan-tip');
const qrPanel = document.getElementById('qrcode-panel');
const smsPanel = document.getElementById('sms-verify');
const smsInput = document.getElementById('sms-code');
const smsError = document.getElementById('sms-error');
let token = '';

async function refreshQr() {
  const answer = await (await fetch('/passport/web/get_qrcode/?aid=2906&service=creator')).json();
  token = answer.data.token;
  qrImage.src = `data:image/png;base64,${answer.data.qrcode}`;
  expiredOverlay.hidden = true;
  scanTip.textContent = '打开抖音App，扫一扫登录';
  poll(token);
}

async function poll(forToken) {
  if (forToken !== token) return; // a newer QR took over
  let status = '';
  try {
    const answer = await (await fetch(`/passport/web/check_qrconnect/?token=${encodeURIComponent(forToken)}`)).json();
    status = answer.data.status;
    if (status === 'confirmed') {
      localStorage.setItem('HasUserLogin', '1');
      location.href = answer.data.redirect_url;
      return;
    }
    if (status === 'expired') {
      expiredOverlay.hidden = false;
      return;
    }
    if (status === 'scanned') scanTip.textContent = '扫码成功，请在手机上确认登录';
    if (status === 'verify' && smsPanel.hidden) {
      qrPanel.hidden = true;
      smsPanel.hidden = false;
      document.getElementById('sms-mobile').textContent = answer.data.mobile;
    }
  } catch (error) {
    scanTip.textContent = '网络异常，正在重试…';
  }
  setTimeout(() => poll(forToken), POLL_MS);
}

async function submitCode() {
  const response = await fetch('/passport/web/validate_code/', {
    method: 'POST',
    headers: {'Content-Type': 'application/json'},
    body: JSON.stringify({token, code: smsInput.value}),
  });
  const answer = await response.json();
  smsError.textContent = answer.error_code === 0 ? '' : answer.data.description;
}

expiredOverlay.addEventListener('click', refreshQr);
document.getElementById('sms-submit').addEventListener('click', submitCode);
refreshQr();
