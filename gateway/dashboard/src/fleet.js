// The fleet as the event stream describes it: a snapshot first, then one change per event.
// Pure functions from (fleet, event) to the next fleet, so the view re-renders on new objects.
const HISTORY = 120;

export function fromSnapshot(snap) {
  const spawnpoints = {};
  for (const sp of snap.Spawnpoints) spawnpoints[sp.Path] = sp;
  return { base: snap.Base, spawnpoints };
}

export function apply(fleet, name, data) {
  const spawnpoints = { ...fleet.spawnpoints };
  if (name === 'spawnpoint') {
    const old = spawnpoints[data.Path];
    const services = data.Services || (old ? old.Services : {});
    const kept = {};
    for (const [n, s] of Object.entries(services || {})) kept[n] = s;
    spawnpoints[data.Path] = { ...data, Services: kept };
  } else if (name === 'spawnpoint-removed') {
    delete spawnpoints[data.Path];
  } else if (name === 'service') {
    const sp = spawnpoints[data.Spawnpoint];
    if (!sp) return fleet;
    const svc = data.Service;
    const old = sp.Services[svc.Name];
    let history = svc.History || (old ? old.History : []) || [];
    if (history.length > HISTORY) history = history.slice(-HISTORY);
    spawnpoints[data.Spawnpoint] = { ...sp, Services: { ...sp.Services, [svc.Name]: { ...svc, History: history } } };
  } else if (name === 'service-removed') {
    const sp = spawnpoints[data.Spawnpoint];
    if (!sp) return fleet;
    const services = { ...sp.Services };
    delete services[data.Name];
    spawnpoints[data.Spawnpoint] = { ...sp, Services: services };
  } else {
    return fleet;
  }
  return { ...fleet, spawnpoints };
}
