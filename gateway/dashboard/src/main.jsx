// The dashboard: the fleet under the gateway's base, live over /api/v1/events (no polling).
import { render } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { request, q, formatMib, formatAge } from './api.js';
import { fromSnapshot, apply } from './fleet.js';
import { Sparkline } from './sparkline.jsx';
import './style.css';

const MAX_LOG_LINES = 500;

function Bar({ label, total, segments, unit }) {
  const pct = (v) => (total > 0 ? Math.max(0, Math.min(100, (100 * v) / total)) : 0);
  return (
    <div class="bar-row">
      <span class="bar-label">{label}</span>
      <div class="bar" role="img" aria-label={label + ': ' + segments.map((s) => s.name + ' ' + unit(s.value)).join(', ')}>
        {segments.map((s) => (
          <span class={'seg ' + s.cls} style={{ width: pct(s.value) + '%' }} title={s.name + ': ' + unit(s.value)} />
        ))}
      </div>
      <span class="bar-text">{segments.map((s) => unit(s.value) + ' ' + s.name).join(' · ')}</span>
    </div>
  );
}

function ServiceRow({ sp, svc, selected, onSelect, readOnly, onCommand }) {
  const h = svc.History || [];
  const state = svc.State.toLowerCase();
  const ask = (what) => (e) => {
    e.stopPropagation();
    if (window.confirm(`${what} ${svc.Name} on ${sp.Alias || sp.Path}?`)) onCommand(what.toLowerCase(), sp.Path, svc.Name);
  };
  return (
    <li class={'service' + (selected ? ' selected' : '')} data-service={svc.Name} onClick={() => onSelect(sp.Path, svc.Name)}>
      <div class="svc-head">
        <span class={'state state-' + state} data-testid="state">{svc.State}</span>
        <span class="svc-name">{svc.Name}</span>
        {svc.Health ? <span class={'health health-' + svc.Health}>{svc.Health}</span> : null}
        {svc.Backoff ? <span class="backoff">backing off {svc.Backoff}</span> : null}
      </div>
      <div class="svc-stats">
        <div class="metric">
          <span>CPU <b>{svc.CpuPercent.toFixed(1)}%</b></span>
          <Sparkline points={h} index={1} color="#3b82f6" label={'CPU of ' + svc.Name} />
        </div>
        <div class="metric">
          <span>Mem <b>{formatMib(svc.MemUsage)}</b> / {formatMib(svc.MemAlloc)}</span>
          <Sparkline points={h} index={2} color="#10b981" label={'memory of ' + svc.Name} />
        </div>
        <div class="metric counts">
          <span>restarts <b data-testid="restarts">{svc.Restarts}</b></span>
          <span>last exit <b data-testid="exit">{svc.ExitCode}</b></span>
        </div>
      </div>
      {readOnly ? null : (
        <div class="svc-actions">
          <button class="btn" data-action="restart" onClick={ask('Restart')}>Restart</button>
          <button class="btn danger" data-action="stop" onClick={ask('Stop')}>Stop</button>
        </div>
      )}
    </li>
  );
}

function SpawnpointCard({ sp, selection, onSelect, readOnly, onCommand, now }) {
  const services = Object.values(sp.Services || {}).sort((a, b) => a.Name.localeCompare(b.Name));
  const live = services.filter((s) => s.State !== 'zombie');
  const memUsed = live.reduce((a, s) => a + (s.MemUsage || 0), 0);
  const memReserved = Math.max(0, sp.TotalMem - sp.AvailableMem - memUsed);
  const cpuRunning = live.filter((s) => s.State === 'running').reduce((a, s) => a + (s.CpuShares || 0), 0);
  const cpuReserved = Math.max(0, sp.TotalCpuShares - sp.AvailableCpuShares - cpuRunning);
  const presence = sp.Down ? (sp.Online ? 'silent' : 'offline') : 'up';
  return (
    <section class={'spawnpoint' + (sp.Down ? ' down' : '')} data-path={sp.Path}>
      <header>
        <h2>{sp.Alias || sp.Path}</h2>
        <span class={'presence presence-' + presence}>{presence}</span>
        <div class="sp-sub">
          <code>{sp.Path}</code> · v{sp.Version} · seen {formatAge(now - sp.Time / 1e6)} ago
        </div>
      </header>
      <Bar label="Memory" total={sp.TotalMem} unit={formatMib}
        segments={[{ name: 'used', cls: 'used', value: Math.min(memUsed, sp.TotalMem) },
                   { name: 'reserved', cls: 'reserved', value: memReserved },
                   { name: 'free', cls: 'free', value: sp.AvailableMem }]} />
      <Bar label="CPU" total={sp.TotalCpuShares} unit={(v) => v + ' shares'}
        segments={[{ name: 'running', cls: 'used', value: cpuRunning },
                   { name: 'reserved', cls: 'reserved', value: cpuReserved },
                   { name: 'free', cls: 'free', value: sp.AvailableCpuShares }]} />
      {Object.keys(sp.Metadata || {}).length ? (
        <ul class="meta">{Object.entries(sp.Metadata).map(([k, v]) => <li><b>{k}</b> {v}</li>)}</ul>
      ) : null}
      {(sp.Warnings || []).map((w) => <p class="warning">⚠ {w}</p>)}
      <ul class="services">
        {services.map((svc) => (
          <ServiceRow sp={sp} svc={svc} readOnly={readOnly} onCommand={onCommand} onSelect={onSelect}
            selected={selection && selection.path === sp.Path && selection.name === svc.Name} />
        ))}
        {services.length === 0 ? <li class="empty">no services</li> : null}
      </ul>
    </section>
  );
}

function LogPane({ selection, lines, onClose }) {
  const box = useRef(null);
  useEffect(() => {
    if (box.current) box.current.scrollTop = box.current.scrollHeight;
  }, [lines]);
  if (!selection) return null;
  return (
    <aside class="logs" aria-label="log">
      <header>
        <h3>{selection.name} <small>{selection.path}</small></h3>
        <button class="btn" onClick={onClose} aria-label="close the log">✕</button>
      </header>
      <pre ref={box} data-testid="log">
        {lines.map((l) => (
          <div class={'line stream-' + l.Stream}>
            <span class="time">{new Date(l.Time / 1e6).toLocaleTimeString()}</span> {l.Contents}
          </div>
        ))}
      </pre>
    </aside>
  );
}

function DeployPanel({ fleet, onDone }) {
  const [open, setOpen] = useState(false);
  const [yaml, setYaml] = useState('');
  const [target, setTarget] = useState('');
  const [replace, setReplace] = useState(false);
  const [result, setResult] = useState(null);
  const paths = Object.keys(fleet.spawnpoints).sort();
  const path = target || paths[0] || '';
  if (!open) return <button class="btn primary" onClick={() => setOpen(true)}>Deploy…</button>;
  const submit = async (e) => {
    e.preventDefault();
    setResult({ pending: true });
    const r = await request('POST', '/api/v1/deploy?' + q({ spawnpoint: path, replace: replace ? 'true' : 'false' }), yaml, 'application/yaml');
    setResult(r);
    if (r.ok) onDone();
  };
  return (
    <form class="deploy" onSubmit={submit}>
      <label>Spawnpoint
        <select value={path} onChange={(e) => setTarget(e.target.value)}>
          {paths.map((p) => <option value={p}>{fleet.spawnpoints[p].Alias || p} ({p})</option>)}
        </select>
      </label>
      <label>deploy.yml
        <textarea rows="10" spellcheck={false} value={yaml} onInput={(e) => setYaml(e.target.value)}
          placeholder={'name: hello\nimage: busybox\nmemAlloc: 64M\ncpuShares: 128\nrun: [sh, -c, "while true; do date; sleep 5; done"]'} />
      </label>
      <label class="check"><input type="checkbox" checked={replace} onChange={(e) => setReplace(e.target.checked)} /> replace a service of the same name</label>
      <div class="row">
        <button class="btn primary" type="submit" disabled={!path || !yaml}>Deploy</button>
        <button class="btn" type="button" onClick={() => { setOpen(false); setResult(null); }}>Close</button>
      </div>
      {result && !result.pending ? (
        <p class={result.ok ? 'ok' : 'error'} data-testid="deploy-result">
          {result.ok ? 'Accepted: ' : `Refused (${result.status}): `}{result.data.Message}
        </p>
      ) : null}
    </form>
  );
}

function Login({ onDone }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState('');
  const submit = async (e) => {
    e.preventDefault();
    const r = await request('POST', '/login', JSON.stringify({ token }));
    if (r.ok) onDone();
    else setError(r.data.Message);
  };
  return (
    <form class="login" onSubmit={submit}>
      <h2>This gateway needs its token</h2>
      <input type="password" autocomplete="current-password" value={token} onInput={(e) => setToken(e.target.value)} placeholder="token" />
      <button class="btn primary" type="submit">Log in</button>
      {error ? <p class="error">{error}</p> : null}
    </form>
  );
}

function App() {
  const [info, setInfo] = useState(null);
  const [needLogin, setNeedLogin] = useState(false);
  const [fleet, setFleet] = useState(null);
  const [connected, setConnected] = useState(false);
  const [selection, setSelection] = useState(null);
  const [lines, setLines] = useState([]);
  const [notice, setNotice] = useState(null);
  const [now, setNow] = useState(Date.now());
  const selectionRef = useRef(null);
  selectionRef.current = selection;

  const start = async () => {
    const r = await request('GET', '/api/v1/info');
    if (r.status === 401) return setNeedLogin(true);
    setNeedLogin(false);
    setInfo(r.data);
  };
  useEffect(() => { start(); }, []);
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 1000);  // the "seen ... ago" clock only
    return () => clearInterval(t);
  }, []);
  useEffect(() => {
    if (!info) return undefined;
    const es = new EventSource('/api/v1/events');
    es.addEventListener('open', () => setConnected(true));
    es.addEventListener('error', () => setConnected(false));
    es.addEventListener('snapshot', (e) => setFleet(fromSnapshot(JSON.parse(e.data))));
    for (const name of ['spawnpoint', 'spawnpoint-removed', 'service', 'service-removed']) {
      es.addEventListener(name, (e) => setFleet((f) => (f ? apply(f, name, JSON.parse(e.data)) : f)));
    }
    es.addEventListener('log', (e) => {
      const line = JSON.parse(e.data);
      const sel = selectionRef.current;
      if (!sel || line.Spawnpoint !== sel.path || line.Service !== sel.name) return;
      setLines((ls) => [...ls, line].slice(-MAX_LOG_LINES));
    });
    return () => es.close();
  }, [info]);

  const select = async (path, name) => {
    const sel = { path, name };
    setSelection(sel);
    setLines([]);
    const r = await request('GET', '/api/v1/logs?' + q({ spawnpoint: path, name, since: '10m' }));
    if (r.ok && selectionRef.current === sel) setLines((live) => [...r.data, ...live].slice(-MAX_LOG_LINES));
  };
  const command = async (what, path, name) => {
    const r = await request('POST', `/api/v1/${what}?` + q({ spawnpoint: path, name }));
    setNotice({ ok: r.ok, text: r.ok ? `${what} ${name}: ${r.data.Message || 'accepted'}` : `${what} ${name} refused (${r.status}): ${r.data.Message}` });
  };

  if (needLogin) return <Login onDone={start} />;
  if (!info || !fleet) return <p class="loading">Connecting…</p>;
  const sps = Object.values(fleet.spawnpoints).sort((a, b) => a.Path.localeCompare(b.Path));
  const services = sps.reduce((a, sp) => a + Object.keys(sp.Services || {}).length, 0);
  return (
    <div class={'page' + (selection ? ' with-logs' : '')}>
      <header class="top">
        <h1>spawnpoint</h1>
        <span class="base"><code>{info.Base || '(all)'}</code></span>
        <span class={'live ' + (connected ? 'on' : 'off')} data-testid="live">{connected ? 'live' : 'reconnecting'}</span>
        <span class="counts">{sps.length} spawnpoints · {services} services</span>
        {info.ReadOnly ? <span class="ro">read-only</span> : <DeployPanel fleet={fleet} onDone={() => {}} />}
      </header>
      {notice ? <p class={'notice ' + (notice.ok ? 'ok' : 'error')} onClick={() => setNotice(null)}>{notice.text}</p> : null}
      <main class="fleet">
        {sps.map((sp) => (
          <SpawnpointCard sp={sp} selection={selection} onSelect={select} readOnly={info.ReadOnly} onCommand={command} now={now} />
        ))}
        {sps.length === 0 ? <p class="empty">No spawnpoint under {info.Base || 'the broker'} yet.</p> : null}
      </main>
      <LogPane selection={selection} lines={lines} onClose={() => setSelection(null)} />
    </div>
  );
}

render(<App />, document.getElementById('app'));
