/** The viewer's one page. Its script (/app.js) does everything; nothing here is secret. */
export const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'self'; img-src 'self' blob:; connect-src 'self' ws: wss:; style-src 'unsafe-inline'">
<title>sealbell viewer</title>
<style>
  body { font: 14px system-ui, sans-serif; margin: 1rem; background: #111; color: #eee; }
  canvas { width: 320px; height: 240px; background: #000; border: 1px solid #444; image-rendering: pixelated; }
  label { display: block; margin: .3rem 0; }
  input, textarea { width: 32rem; background: #222; color: #eee; border: 1px solid #444; }
  button { margin: .3rem .3rem 0 0; }
  #status { margin: .5rem 0; min-height: 1.2em; color: #9f9; }
  .views { display: flex; gap: 1rem; }
</style>
</head>
<body>
<h1>sealbell viewer</h1>
<p>Decrypts in this page with the phone's keys: the relay sees sealed records and clips only.</p>
<details>
  <summary>phone keys</summary>
  <label>relay origin <input id="relayOrigin"></label>
  <label>doorbell id <input id="deviceId"></label>
  <label>age identity <input id="identity" type="password" autocomplete="off"></label>
  <label>relay login key (base64 seed) <input id="authSeed" type="password" autocomplete="off"></label>
  <label>device.pub <textarea id="devicePub" rows="2"></textarea></label>
</details>
<button id="startLive">watch live</button><button id="stopLive">stop</button><button id="listClips">recorded clips</button>
<div id="status"></div>
<div class="views">
  <figure><canvas id="live" width="320" height="240"></canvas><figcaption>live</figcaption></figure>
  <figure><canvas id="clip" width="320" height="240"></canvas><figcaption>recorded clip</figcaption><div id="clips"></div></figure>
</div>
<script src="/app.js"></script>
</body>
</html>
`;
