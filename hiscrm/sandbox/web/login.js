'use strict';
// QR login: show a QR, poll its status, follow the redirect when confirmed. A scan that needs identity
// verification (error 2046) opens the #uc-second-verify dialog: choose SMS, ask for a code, type it.

const POLL_MS = 1000;
const NEEDS_VERIFICATION = 2046;
const qrImage = document.getElementById('qrcode-img');
const expiredOverlay = document.getElementById('qrcode-expired');
const scanTip = document.getElementById('scan-tip');
const verifyModal = document.getElementById('uc-second-verify');
const verifyWays = document.getElementById('verify-ways');
const smsScreen = document.getElementById('verify-sms');
const codeInput = document.getElementById('button-input');
const sendButton = smsScreen.querySelector('.uc-ui-verify_sms-input_button');
const verifyError = smsScreen.querySelector('.uc-ui-verify_error');
let token = '';
let verifyTicket = '';
let resendTimer = null;
let verified = false; // the code was accepted: a poll answered before that must not reopen the dialog

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
  try {
    const query = `token=${encodeURIComponent(forToken)}&verify_ticket=${encodeURIComponent(verifyTicket)}`;
    const answer = await (await fetch(`/passport/web/check_qrconnect/?${query}`)).json();
    if (answer.error_code === NEEDS_VERIFICATION) {
      // Polling goes on: a verification finished elsewhere (in the app) also lets the login through.
      if (verifyModal.hidden && !verified) openVerification(answer.data);
      setTimeout(() => poll(forToken), POLL_MS);
      return;
    }
    const status = answer.data.status;
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
  } catch (error) {
    scanTip.textContent = '网络异常，正在重试…';
  }
  setTimeout(() => poll(forToken), POLL_MS);
}

function openVerification(data) {
  verifyTicket = data.verify_ticket;
  const sms = data.verify_ways.find((w) => w.verify_way === 'mobile_sms_verify');
  document.getElementById('sms-mobile').textContent = sms ? sms.mobile : '';
  verifyWays.hidden = false;
  smsScreen.hidden = true;
  verifyModal.hidden = false;
}

function chooseWay(event) {
  const way = event.target.closest('[data-way]');
  if (!way) return;
  verifyWays.hidden = true;
  if (way.dataset.way === 'mobile_sms_verify') smsScreen.hidden = false;
  else document.getElementById('verify-face').hidden = false;
}

async function post(path, body) {
  const response = await fetch(path, {
    method: 'POST',
    headers: {'Content-Type': 'application/json'},
    body: JSON.stringify(body),
  });
  return response.json();
}

function countdown(seconds) {
  clearInterval(resendTimer);
  let left = seconds;
  sendButton.disabled = true;
  sendButton.textContent = `${left}s 后重新发送`;
  resendTimer = setInterval(() => {
    left -= 1;
    if (left > 0) {
      sendButton.textContent = `${left}s 后重新发送`;
      return;
    }
    clearInterval(resendTimer);
    sendButton.disabled = false;
    sendButton.textContent = '获取验证码';
  }, 1000);
}

async function sendCode() {
  const answer = await post('/passport/web/send_code/', {verify_ticket: verifyTicket, type: 22});
  verifyError.textContent = answer.error_code === 0 ? '' : answer.data.description;
  if (answer.error_code === 0) countdown(answer.data.retry_time);
}

// The site sends the code xor 5, hex-encoded.
const encodeCode = (code) => Array.from(code, (c) => (c.charCodeAt(0) ^ 5).toString(16).padStart(2, '0')).join('');

async function submitCode() {
  verifyError.textContent = '';
  const answer = await post('/passport/web/validate_code/', {
    verify_ticket: verifyTicket,
    code: encodeCode(codeInput.value.trim()),
    mix_mode: 1,
  });
  if (answer.error_code !== 0) {
    verifyError.textContent = answer.data.description;
    return;
  }
  verifyError.textContent = '';
  verified = true;
  verifyModal.hidden = true;
}

expiredOverlay.addEventListener('click', refreshQr);
verifyWays.addEventListener('click', chooseWay);
sendButton.addEventListener('click', sendCode);
smsScreen.querySelector('.uc-ui-verify-submit').addEventListener('click', submitCode);
refreshQr();
