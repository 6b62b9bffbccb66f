// linuxwasm's page: download the kernel and the system image with progress,
// boot them in this tab, and connect the console (hvc0) to an xterm.js
// terminal; the kernel log (hvc2) goes to a panel of its own. "new
// machine" boots another in the same tab, with a terminal tab of its own;
// the tab's machines share a switch (runtime/network/switch.js), each with
// its address there (10.0.1.2, .3, ...): a small cluster in the browser.
import { FitAddon } from './vendor/addon-fit.js';
import { Terminal } from './vendor/xterm.js';
import { VT_AGENT, VT_CONSOLE, VT_LOG } from './runtime/abi.js';
import { AgentClient } from './runtime/agent-client.js';
import { startDevices } from './runtime/browser/devices.js';
import { createMachine, missingFeature } from './runtime/browser/platform.js';
import { Switch } from './runtime/network/switch.js';
import { becomeIsolated } from './isolate.js';

/** Keep this much of the kernel log in the panel. */
const LOG_LIMIT = 256 * 1024;
/** The largest file uploaded or downloaded at once: it passes through the page's memory. */
const FILE_LIMIT = 256 * 1024 * 1024;
/** The escape sequence of the guest's `download` (system/bin/download): OSC 7701 ; base64 path. */
const OSC_DOWNLOAD = 7701;
/** The machines of this tab, at most, and their addresses on its switch. */
const MAX_MACHINES = 8;
const switchAddress = (index) => `10.0.1.${index + 2}`;

/** What a newcomer reads first, above the shell (the guest's `help` says more). */
const GREETING = [
  '\x1b[1mlinuxwasm\x1b[0m: the Linux kernel compiled to WebAssembly, running in this tab.',
  'Type \x1b[1mhelp\x1b[0m for what to try; copy and paste are Ctrl-Shift-C and Ctrl-Shift-V.',
].join('\r\n') + '\r\n';

/** Where files live, as the home disk allows. */
function storageLine(devices) {
  if (!devices.home) return `Files live in memory (${devices.homeReason}): reloading the page starts afresh.`;
  const line = 'Your home, /root, is a disk kept by this browser: it is still there after a reload.';
  return devices.notice ? `${line}\r\n\x1b[33m${devices.notice}.\x1b[0m` : line;
}

/** What the guest can reach. */
function networkLines(devices, session) {
  const cluster = `${devices.network ? 'eth1' : 'eth0'} is ${switchAddress(session.index)} on this tab's switch ` +
    '("new machine" adds another).';
  if (devices.network) return `The network (eth0) goes through the relay at ${devices.network}.\r\n${cluster}`;
  return `No network: ${devices.networkReason ?? 'no relay'} (serve --net has one, or ?relay=URL).\r\n${cluster}`;
}

/** The relay's WebSocket URL: the page's ?relay= parameter, else /net of this page's origin. */
function relayUrl() {
  const given = new URLSearchParams(location.search).get('relay');
  if (given) return given;
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/net`;
}

const element = (id) => document.getElementById(id);
const statusLine = element('status');
const progress = element('progress');
const logPanel = element('log');
const restartButton = element('restart');
const resetButton = element('reset-home');
const uploadButton = element('upload');
const uploadInput = element('upload-file');
const showLog = element('show-log');
const newMachineButton = element('new-machine');
const tabs = element('machines');

/**
 * One machine of the tab, with its terminal, its log and its devices.
 * @typedef {{index: number, terminal: Terminal, fit: FitAddon, box: HTMLElement, tab: HTMLButtonElement,
 *   cable: MessagePort|null, machine: object|null, devices: object|null, agent: object|null, booted: number, firstOutput: number,
 *   exit: {status: number, reason: string}|null, log: string, status: {text: string, failed: boolean}}} Session
 */

/**
 * The page's state, also for tests and benchmarks (tests/test_browser.py):
 * the machines, and the one shown (whose terminal, machine and exit are
 * the page's own).
 */
const page = {
  /** @type {Session[]} */
  sessions: [],
  /** @type {Session|null} */
  active: null,
  lan: new Switch(),
  get terminal() { return this.active?.terminal ?? null; },
  get machine() { return this.active?.machine ?? null; },
  get devices() { return this.active?.devices ?? null; },
  get agent() { return this.active?.agent ?? null; },
  get exit() { return this.active?.exit ?? null; },
  get firstOutput() { return this.active?.firstOutput ?? 0; },
  get booted() { return this.active?.booted ?? 0; },
  screenText(session = this.active) {
    const buffer = session.terminal.buffer.active;
    const lines = [];
    for (let i = 0; i < buffer.length; i++) lines.push(buffer.getLine(i).translateToString(true));
    return lines.join('\n').trimEnd();
  },
};
globalThis.linuxwasm = page;

/** The status line, of the page or of one machine (shown while it is the active one). */
function setStatus(text, failed = false, session = page.active) {
  if (session) session.status = { text, failed };
  if (session && session !== page.active) return;
  statusLine.textContent = text;
  statusLine.classList.toggle('failed', failed);
}

function fail(message) {
  setStatus(message, true);
  progress.hidden = true;
  const problem = element('problem');
  problem.textContent = `linuxwasm cannot run here: ${message}.`;
  problem.hidden = false;
}

const megabytes = (bytes) => (bytes / 1e6).toFixed(1);

/**
 * Download the files the manifest names, showing the bytes received. The
 * kernel compiles while it downloads.
 * @param {{kernel: {path: string, size: number}, initrd: {path: string, size: number}}} manifest
 * @returns {Promise<{kernel: WebAssembly.Module, initrd: Uint8Array}>}
 */
async function fetchFiles(manifest) {
  const files = [manifest.kernel, manifest.initrd];
  const total = files.reduce((sum, file) => sum + file.size, 0);
  let received = 0;
  const show = () => {
    progress.value = received / total;
    setStatus(`downloading ${megabytes(received)} of ${megabytes(total)} MB`);
  };
  /** A file's body, counted into the progress bar on its way. */
  const counted = async ({ path, size }) => {
    const response = await fetch(path);
    if (!response.ok) throw new Error(`${path}: ${response.status} ${response.statusText}`);
    let offset = 0;
    return response.body.pipeThrough(new TransformStream({
      transform(chunk, controller) {
        offset += chunk.length;
        received += chunk.length;
        if (offset > size) throw new Error(`${path}: larger than the manifest says`);
        show();
        controller.enqueue(chunk);
      },
      flush() {
        if (offset !== size) throw new Error(`${path}: ${offset} bytes, the manifest says ${size}`);
      },
    }));
  };
  show();
  const [kernelBody, initrdBody] = await Promise.all(files.map(counted));
  const [kernel, initrd] = await Promise.all([
    WebAssembly.compileStreaming(new Response(kernelBody, { headers: { 'Content-Type': 'application/wasm' } }))
      .catch((error) => Promise.reject(error instanceof WebAssembly.CompileError
        ? new Error(`${manifest.kernel.path} is not a valid kernel image: ${error.message}`) : error)),
    new Response(initrdBody).arrayBuffer(),
  ]);
  return { kernel, initrd: new Uint8Array(initrd) };
}

function appendLog(session, text) {
  const log = session.log = (session.log + text).slice(-LOG_LIMIT);
  if (session === page.active) {
    const atBottom = logPanel.scrollTop + logPanel.clientHeight >= logPanel.scrollHeight - 4;
    logPanel.textContent = log;
    if (atBottom) logPanel.scrollTop = logPanel.scrollHeight;
  }
  // The log arrives in chunks that end anywhere: show its last whole line.
  const end = log.lastIndexOf('\n');
  const line = end < 0 ? '' : log.slice(log.lastIndexOf('\n', end - 1) + 1, end).trim();
  if (!session.firstOutput && line) setStatus(`booting: ${line}`, false, session);
}

/** Show session's terminal, log and status. */
function show(session) {
  page.active = session;
  for (const other of page.sessions) {
    other.box.hidden = other !== session;
    other.tab.setAttribute('aria-selected', String(other === session));
  }
  logPanel.textContent = session.log;
  setStatus(session.status.text, session.status.failed, session);
  resetButton.disabled = !session.devices?.home || session.devices.readOnly;
  session.fit.fit();
  session.terminal.focus();
}

/** A new machine's terminal (in a box of its own) and its tab. @returns {Session} */
function createSession() {
  const index = page.sessions.length;
  const box = document.createElement('div');
  box.className = 'terminal';
  element('terminals').append(box);
  const tab = document.createElement('button');
  tab.type = 'button';
  tab.role = 'tab';
  tab.textContent = `machine ${index + 1} (${switchAddress(index)})`;
  tabs.append(tab);
  /** @type {Session} */
  const session = {
    index, box, tab, terminal: null, fit: null, machine: null, devices: null, agent: null, cable: null, booted: 0,
    firstOutput: 0, exit: null, log: '', status: { text: 'booting', failed: false },
  };
  createTerminal(session);
  tab.addEventListener('click', () => show(session));
  page.sessions.push(session);
  // The tabs show once there is more than one machine.
  tabs.hidden = page.sessions.length < 2;
  return session;
}

function createTerminal(session) {
  const terminal = new Terminal({ cursorBlink: true, scrollback: 5000, fontSize: 15 });
  const fit = new FitAddon();
  terminal.loadAddon(fit);
  terminal.open(session.box);
  session.terminal = terminal;
  session.fit = fit;
  // Ctrl-C and Ctrl-V belong to the guest: copy and paste are Ctrl-Shift-C/V.
  // The browser pastes on Ctrl-Shift-V by itself (xterm.js takes the paste
  // event); it only must not reach the guest as a key.
  terminal.attachCustomKeyEventHandler((event) => {
    if (!event.ctrlKey || !event.shiftKey) return true;
    if (event.code === 'KeyV') return false;
    if (event.code === 'KeyC' && terminal.hasSelection()) {
      if (event.type === 'keydown') navigator.clipboard?.writeText(terminal.getSelection());
      event.preventDefault();
      return false;
    }
    return true;
  });
  const encoder = new TextEncoder();
  terminal.onData((data) => session.machine?.typeInput(encoder.encode(data)));
  terminal.onBinary((data) => session.machine?.typeInput(Uint8Array.from(data, (c) => c.charCodeAt(0))));
  terminal.onResize(({ rows, cols }) => session.machine?.resize(rows, cols));
  terminal.parser.registerOscHandler(OSC_DOWNLOAD, (data) => {
    try {
      download(session, new TextDecoder().decode(Uint8Array.from(atob(data), (c) => c.charCodeAt(0))));
    } catch {
      setStatus('download: a malformed request from the guest', true);
    }
    return true;
  });
  const box = session.box;
  box.addEventListener('dragover', (event) => event.preventDefault());
  box.addEventListener('drop', (event) => {
    event.preventDefault();
    if (event.dataTransfer?.files.length) upload(session, [...event.dataTransfer.files]);
  });
  new ResizeObserver(() => { if (!box.hidden) fit.fit(); }).observe(box);
  fit.fit();
}

/** Boot a new machine from the downloaded files; returns when it stops. */
async function boot(session, files, manifest, { resetHome = false } = {}) {
  const terminal = session.terminal;
  const logText = new TextDecoder();
  terminal.reset();
  terminal.write(GREETING);
  // The home disk is the first machine's; the others keep their files in memory.
  const home = session.index === 0 ? { ...manifest.home, reset: resetHome } : null;
  if (session.cable) page.lan.detach(session.cable);
  session.cable = page.lan.attach();
  const mac = `02:4c:57:01:00:${(session.index + 1).toString(16).padStart(2, '0')}`;
  const devices = await startDevices(home, relayUrl(), { port: session.cable, mac });
  session.devices = devices;
  terminal.write(`${storageLine(devices)}\r\n${networkLines(devices, session)}\r\n\r\n`);
  if (session === page.active) resetButton.disabled = !devices.home || devices.readOnly;
  let cmdline = manifest.cmdline;
  if (devices.bus) cmdline += ` ${devices.bus.cmdline}`;
  // What is written reaches the disk within a second (the journal's commit,
  // with the data, not five seconds and half a minute): a reload loses at most that.
  if (devices.home) cmdline += ` linuxwasm.disks=vda:/root:${devices.readOnly ? 'ro' : 'rw:commit=1+nodelalloc'}`;
  // Each machine of the tab has a name of its own: linuxwasm, linuxwasm-2, ...
  if (session.index) cmdline += ` linuxwasm.hostname=linuxwasm-${session.index + 1}`;
  const cluster = `${switchAddress(session.index)}/24`;
  cmdline += ` linuxwasm.net=${devices.network ? `eth0:dhcp,eth1:${cluster}` : `eth0:${cluster}`}`;
  if (devices.network) {
    devices.bus.onNetworkLost = () => setStatus('the network relay went away: the guest has no network now',
      true, session);
  }
  session.log = '';
  if (session === page.active) logPanel.textContent = '';
  session.firstOutput = 0;
  session.exit = null;
  setStatus('booting', false, session);
  const agent = new AgentClient((bytes) => machine.typeInput(bytes, VT_AGENT));
  session.agent = agent;
  const machine = createMachine({
    kernel: files.kernel,
    initrd: files.initrd,
    cmdline,
    bus: devices.bus,
    coroutines: !new URLSearchParams(location.search).has('threads'),
    onOutput(vterm, bytes) {
      if (machine !== session.machine) return;
      if (vterm === VT_CONSOLE) {
        if (!session.firstOutput) {
          session.firstOutput = performance.now();
          setStatus('running', false, session);
        }
        terminal.write(bytes);
      } else if (vterm === VT_LOG) {
        appendLog(session, logText.decode(bytes, { stream: true }));
      } else if (vterm === VT_AGENT) {
        agent.feed(bytes);
      }
    },
  });
  session.machine = machine;
  session.booted = performance.now();
  machine.resize(terminal.rows, terminal.cols);
  if (session === page.active) terminal.focus();
  const result = await machine.run();
  if (machine !== session.machine) return;
  session.exit = { status: result.status, reason: result.reason };
  if (result.status === 0) {
    setStatus(`stopped: ${result.reason}`, false, session);
    terminal.write(`\r\n\x1b[33m[linuxwasm: ${result.reason}; restart boots it again]\x1b[0m\r\n`);
  } else {
    appendLog(session, `\n[linuxwasm: ${result.reason}]\n`);
    setStatus(result.reason, true, session);
    terminal.write(`\r\n\x1b[1;31m[linuxwasm: ${result.reason}]\x1b[0m\r\n`);
  }
}

/** Files from the user's machine into the guest's /root (the upload button, or dropped on the terminal). */
async function upload(session, files) {
  for (const file of files) {
    // A name of its own in /root: no folders, nothing hidden by a leading dot.
    const name = file.name.replace(/[/\0]/g, '_').replace(/^\.+/, '_') || 'upload';
    if (file.size > FILE_LIMIT) {
      setStatus(`${file.name}: larger than ${megabytes(FILE_LIMIT)} MB, not uploaded`, true);
      continue;
    }
    setStatus(`uploading ${name}`);
    try {
      await session.agent.put(`/root/${name}`, new Uint8Array(await file.arrayBuffer()));
      setStatus(`uploaded ${name} to /root`);
    } catch (error) {
      setStatus(`${name}: not uploaded: ${error.message}`, true);
    }
  }
  session.terminal.focus();
}

/** The guest's `download FILE`: the file, fetched through the agent, as a download of the browser's. */
async function download(session, path) {
  const name = path.split('/').pop() || 'download';
  setStatus(`downloading ${name}`);
  try {
    const blob = await session.agent.get(path, FILE_LIMIT);
    const link = document.createElement('a');
    link.href = URL.createObjectURL(blob);
    link.download = name;
    link.click();
    setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
    setStatus(`downloaded ${name}`);
  } catch (error) {
    setStatus(`${name}: not downloaded: ${error.message}`, true);
  }
}

/** The site's manifest, and the files it names, downloaded and compiled. */
async function loadFiles() {
  const response = await fetch('site.json', { cache: 'no-cache' });
  if (!response.ok) throw new Error(`site.json: ${response.status} ${response.statusText}`);
  const manifest = await response.json();
  return { manifest, files: await fetchFiles(manifest) };
}

async function main() {
  if (!(await becomeIsolated())) return;
  const missing = missingFeature();
  if (missing) return fail(missing);

  // The downloads go on while the terminal starts.
  const loading = loadFiles();
  show(createSession());
  showLog.addEventListener('change', () => {
    logPanel.hidden = !showLog.checked;
    page.terminal.focus();
  });

  let files;
  let manifest;
  try {
    ({ files, manifest } = await loading);
  } catch (error) {
    return fail(`loading failed: ${error.message}`);
  }
  progress.hidden = true;
  restartButton.disabled = false;
  const restart = async (session, how) => {
    session.machine?.finish(0, 'restarted');
    session.machine = null;
    // The next machine's devices are this one's, once it lets them go.
    await session.devices?.bus?.released;
    boot(session, files, manifest, how);
  };
  restartButton.addEventListener('click', () => restart(page.active));
  uploadButton.disabled = false;
  uploadButton.addEventListener('click', () => uploadInput.click());
  uploadInput.addEventListener('change', () => {
    upload(page.active, [...uploadInput.files]);
    uploadInput.value = '';
  });
  resetButton.addEventListener('click', () => {
    if (confirm('Empty your home (/root)? Every file in it is lost, and the machine restarts.')) {
      restart(page.active, { resetHome: true });
    } else {
      page.terminal.focus();
    }
  });
  newMachineButton.disabled = false;
  newMachineButton.addEventListener('click', () => {
    const session = createSession();
    newMachineButton.disabled = page.sessions.length >= MAX_MACHINES;
    show(session);
    boot(session, files, manifest);
  });
  boot(page.active, files, manifest);
}

main().catch((error) => fail(String(error.message ?? error)));
