"""Train a 48 h (96 half-hour) quantile LSTM forecaster and export it to ONNX.

    /usr/bin/python3 models/training/train_forecaster.py --target carbon|price

Writes models/<target>/{<target>-lstm.onnx, features.json, test-cases.json, metrics.json}.
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch
from torch import nn

import common as C

QUANTILES = (0.1, 0.5, 0.9)

TARGETS = {
    'carbon': {
        'modelId': 'caco-carbon-lstm',
        'unit': 'gCO2/kWh',
        'file': 'carbon-lstm.onnx',
        'seriesFrom': '2020-01-08T00:00Z',
        'trainTo': '2023-04-15T00:00Z',    # targets of training origins end before this
        'valTo': '2023-07-01T00:00Z',      # the 11 weeks before the test period = validation (early stopping, band calibration)
        'testTo': '2023-10-01T00:00Z',
        'maxEpochs': 6,
        'members': 2,
    },
    'price': {
        'modelId': 'caco-price-lstm',
        'unit': 'GBP/MWh',
        'file': 'price-lstm.onnx',
        'seriesFrom': '2023-01-01T00:00Z',
        'trainTo': '2023-06-01T00:00Z',
        'valTo': '2023-07-01T00:00Z',
        'testTo': '2023-10-01T00:00Z',
        'maxEpochs': 8,
        'members': 3,
    },
}


class QuantileLstm(nn.Module):
    """LSTM over the last seqLen half-hours + MLP head over [LSTM state, static features].

    forward_z gives [B, horizon, 3] = (p10, p50, p90) in units of `scale` around the level. The
    bands are p50 -/+ softplus(.) so they never cross.
    """

    def __init__(self, static_size: int, horizon: int, hidden: int = 64, width: int = 256, dropout: float = 0.1):
        super().__init__()
        self.horizon = horizon
        self.lstm = nn.LSTM(2, hidden, batch_first=True)
        self.head = nn.Sequential(nn.Linear(hidden + static_size, width), nn.ReLU(), nn.Dropout(dropout),
                                  nn.Linear(width, width), nn.ReLU(), nn.Dropout(dropout), nn.Linear(width, 3 * horizon))

    def forward_z(self, seq, static):
        _, (h, _) = self.lstm(seq)
        o = self.head(torch.cat([h[-1], static], dim=1))
        hz = self.horizon
        mid = o[:, :hz]
        lo = nn.functional.softplus(o[:, hz:2 * hz])
        hi = nn.functional.softplus(o[:, 2 * hz:])
        return torch.stack([mid - lo, mid, mid + hi], dim=2)


class Ensemble(nn.Module):
    """Averages the quantiles of independently seeded members, widens the bands per horizon by
    `band_k` (calibrated on validation) and returns physical units. Calibration and de-normalising
    live inside the graph, so the ONNX file is the whole model."""

    def __init__(self, members, horizon: int, scale: float):
        super().__init__()
        self.members = nn.ModuleList(members)
        self.register_buffer('scale', torch.tensor(float(scale)))
        self.register_buffer('band_k', torch.ones(horizon))

    def forward_z(self, seq, static):
        q = torch.stack([m.forward_z(seq, static) for m in self.members]).mean(dim=0)
        mid = q[:, :, 1]
        lo = (mid - q[:, :, 0]) * self.band_k
        hi = (q[:, :, 2] - mid) * self.band_k
        return torch.stack([mid - lo, mid, mid + hi], dim=2)

    def forward(self, seq, static, level):
        return level.view(-1, 1, 1) + self.forward_z(seq, static) * self.scale


def pinball(pred_z, target_z, mask):
    q = torch.tensor(QUANTILES).view(1, 1, 3)
    diff = target_z.unsqueeze(2) - pred_z
    loss = torch.maximum(q * diff, (q - 1) * diff)
    m = mask.unsqueeze(2).float()
    return (loss * m).sum() / (m.sum() * 3)


def build_series(target: str, cfg: dict):
    from_ms = C.iso_ms(cfg['seriesFrom'])
    to_ms = C.iso_ms(cfg['testTo'])
    if target == 'carbon':
        api = C.dense(C.load_carbon_halfhourly(), from_ms, to_ms)
        hourly = C.hourly_dense(C.load_carbon_hourly(), from_ms, to_ms)
        # Pre-2023 half-hours come from the hourly history (API file starts 2022-12-31T23:30Z).
        api_start = (C.iso_ms('2022-12-31T23:30Z') - from_ms) // C.HALF_HOUR_MS
        series = np.where(np.arange(len(api)) < api_start, hourly, api)
    else:
        series = C.dense(C.load_market_index_price(), from_ms, to_ms)
    return series, from_ms


def split_origins(series, from_ms, cfg, spec):
    H, hz = spec['historySteps'], spec['horizon']
    idx = lambda iso: (C.iso_ms(iso) - from_ms) // C.HALF_HOUR_MS
    all_o = np.arange(H, len(series) - hz + 1)
    train = all_o[all_o + hz <= idx(cfg['trainTo'])]
    val = all_o[(all_o >= idx(cfg['trainTo'])) & (all_o + hz <= idx(cfg['valTo']))]
    test = all_o[(all_o >= idx(cfg['valTo']))]
    return train, val, test


def make_tensors(series, from_ms, origins, spec):
    seq, static, level, cnt = C.all_window_features(series, from_ms, origins, spec)
    y = series[origins[:, None] + np.arange(spec['horizon'])[None, :]]
    ok = cnt >= spec['minValid']
    origins, seq, static, level, y = origins[ok], seq[ok], static[ok], level[ok], y[ok]
    mask = np.isfinite(y)
    yz = np.where(mask, (y - level[:, None]) / spec['scale'], 0.0)
    t = lambda a: torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))
    return {'origins': origins, 'seq': t(seq), 'static': t(static), 'level': t(level[:, None]), 'yz': t(yz), 'mask': torch.from_numpy(mask), 'y': y}


def predict(model, d, batch=2048):
    model.eval()
    outs = []
    with torch.no_grad():
        for i in range(0, len(d['origins']), batch):
            outs.append(model(d['seq'][i:i + batch], d['static'][i:i + batch], d['level'][i:i + batch]).numpy())
    return np.concatenate(outs).astype(np.float64)


def metrics(pred, y, series, origins, spec):
    """MAE/RMSE at 1, 6, 24, 48 h ahead (horizon index 2k-1), pooled MAE, P10-P90 coverage,
    and the same-time-yesterday / last-week baselines on the same origins."""
    hz = spec['horizon']
    h_idx = np.arange(hz)
    yest = series[origins[:, None] + h_idx[None, :] - 48 * (h_idx[None, :] // 48 + 1)]
    week = series[origins[:, None] + h_idx[None, :] - 336]
    out = {}
    for name, p in [('lstm', pred[:, :, 1]), ('sameTimeYesterday', yest), ('sameTimeLastWeek', week)]:
        m = {}
        for hours in (1, 6, 24, 48):
            k = 2 * hours - 1
            e = p[:, k] - y[:, k]
            e = e[np.isfinite(e)]
            m[f'{hours}h'] = {'mae': float(np.mean(np.abs(e))), 'rmse': float(np.sqrt(np.mean(e ** 2))), 'n': int(len(e))}
        e = (p - y)[np.isfinite(p - y)]
        m['pooled0to48h'] = {'mae': float(np.mean(np.abs(e))), 'rmse': float(np.sqrt(np.mean(e ** 2))), 'n': int(len(e))}
        out[name] = m
    ok = np.isfinite(y)
    inside = (y >= pred[:, :, 0]) & (y <= pred[:, :, 2])
    out['lstm']['coverageP10P90'] = float(inside[ok].mean())
    return out


def calibrate_bands(model, val, spec):
    """Per-horizon multiplier on the band widths so that 80 % of the validation period falls
    inside P10-P90, smoothed over neighbouring horizons, and never below 1: the bands are
    widened where the quantile heads under-cover out of sample but never narrowed below what the
    pinball loss learnt, because a calm validation spell (spring 2023) would otherwise shrink
    them for a windier one (a first run that allowed narrowing covered only 73.5 % of Q3 2023)."""
    with torch.no_grad():
        model.band_k.fill_(1.0)
        z = model.forward_z(val['seq'], val['static']).numpy()
    yz = val['yz'].numpy()
    m = val['mask'].numpy()
    ks = np.linspace(0.3, 4.0, 371)
    best = np.ones(spec['horizon'])
    for h in range(spec['horizon']):
        lo = z[:, h, 1] - z[:, h, 0]
        hi = z[:, h, 2] - z[:, h, 1]
        ok = m[:, h]
        cov = np.array([np.mean(((yz[ok, h] >= z[ok, h, 1] - k * lo[ok]) & (yz[ok, h] <= z[ok, h, 1] + k * hi[ok]))) for k in ks])
        best[h] = ks[np.argmin(np.abs(cov - 0.8))]
    kern = np.ones(9) / 9
    smooth = np.maximum(1.0, np.convolve(np.pad(best, 4, mode='edge'), kern, mode='valid'))
    with torch.no_grad():
        model.band_k.copy_(torch.from_numpy(smooth.astype(np.float32)))
    return smooth


def export_onnx(model, spec, path):
    model.eval()
    seq = torch.zeros(1, spec['seqLen'], 2)
    static = torch.zeros(1, spec['staticSize'])
    level = torch.zeros(1, 1)
    torch.onnx.export(
        model, (seq, static, level), path,
        input_names=['seq', 'static', 'level'], output_names=['quantiles'],
        dynamic_axes={'seq': {0: 'batch'}, 'static': {0: 'batch'}, 'level': {0: 'batch'}, 'quantiles': {0: 'batch'}},
        opset_version=17,
    )
    import onnx
    m = onnx.load(path)
    onnx.checker.check_model(m)
    m.producer_name = 'caco models/training'
    onnx.save(m, path)


def save_test_cases(model, series, from_ms, origins, spec, path, seed):
    rng = np.random.default_rng(seed)
    picks = list(rng.choice(origins, size=6, replace=False))
    cases = []
    for n, o in enumerate(picks):
        hist = series[o - spec['historySteps']:o].copy()
        if n == 0:
            hist[-5:] = np.nan                      # recent gap: forward fill + missing flags
        if n == 1:
            hist[:10] = np.nan                      # leading gap: filled with the level
            hist[100:103] = np.nan
        origin_ms = int(from_ms + o * C.HALF_HOUR_MS)
        seq, static, level = C.window_features(hist, origin_ms, spec)
        # The vectorised training path must agree with the one-window path on clean histories.
        if n >= 2:
            vs, vst, vl, _ = C.all_window_features(series, from_ms, np.array([o]), spec)
            assert np.allclose(vs[0], seq) and np.allclose(vst[0], static) and abs(vl[0] - level) < 1e-9
        with torch.no_grad():
            out = model(torch.from_numpy(seq[None]), torch.from_numpy(static[None]), torch.tensor([[level]], dtype=torch.float32)).numpy()[0]
        cases.append({
            'nowMs': origin_ms,
            'history': {'fromMs': origin_ms - spec['historySteps'] * C.HALF_HOUR_MS, 'values': [None if not np.isfinite(v) else float(v) for v in hist]},
            'features': {'seq': seq.reshape(-1).tolist(), 'static': static.tolist(), 'level': level},
            'output': {'p10': out[:, 0].tolist(), 'p50': out[:, 1].tolist(), 'p90': out[:, 2].tolist()},
        })
    C.write_json(path, {'tolerance': {'features': 1e-5, 'outputTimesScale': 1e-5}, 'cases': cases})


def train_member(tr, va, spec, seed, max_epochs, patience):
    """Adam on the pinball loss with early stopping on the validation loss; returns the best
    epoch's weights. Stopping depends on epochs only (not wall time), so a rerun is identical."""
    torch.manual_seed(seed)
    model = QuantileLstm(spec['staticSize'], spec['horizon'])
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-5)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=1)
    gen = torch.Generator().manual_seed(seed)
    best, best_state, bad, started, log = float('inf'), None, 0, time.time(), []
    for epoch in range(max_epochs):
        model.train()
        perm = torch.randperm(len(tr['origins']), generator=gen)
        tot = 0.0
        for i in range(0, len(perm), 256):
            b = perm[i:i + 256]
            loss = pinball(model.forward_z(tr['seq'][b], tr['static'][b]), tr['yz'][b], tr['mask'][b])
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            tot += loss.item() * len(b)
        model.eval()
        with torch.no_grad():
            vl = pinball(model.forward_z(va['seq'], va['static']), va['yz'], va['mask']).item()
        sched.step(vl)
        print(f'  seed {seed} epoch {epoch + 1}: train {tot / len(perm):.4f} val {vl:.4f} ({time.time() - started:.0f}s)', flush=True)
        log.append({'epoch': epoch + 1, 'train': tot / len(perm), 'val': vl})
        if vl < best - 1e-4:
            best, bad = vl, 0
            best_state = {k: v.clone() for k, v in model.state_dict().items()}
        else:
            bad += 1
        if bad >= patience:
            break
    model.load_state_dict(best_state)
    model.eval()
    return model, {'seed': seed, 'epochs': log, 'bestVal': best}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--target', choices=list(TARGETS), required=True)
    ap.add_argument('--max-epochs', type=int, default=None, help='default: per target (carbon 6, price 8)')
    ap.add_argument('--patience', type=int, default=2, help='epochs without validation improvement before stopping')
    ap.add_argument('--seed', type=int, default=20230701)
    ap.add_argument('--members', type=int, default=None, help='ensemble members (independent seeds); default: carbon 2, price 3')
    # One thread: on a shared 2-core machine a second torch thread spins against other jobs and runs 10x slower.
    ap.add_argument('--threads', type=int, default=1)
    args = ap.parse_args()
    cfg = TARGETS[args.target]
    C.seed_everything(args.seed)
    torch.set_num_threads(args.threads)
    out_dir = os.path.join(C.MODELS, args.target)
    os.makedirs(out_dir, exist_ok=True)

    series, from_ms = build_series(args.target, cfg)
    train_end = (C.iso_ms(cfg['trainTo']) - from_ms) // C.HALF_HOUR_MS
    tr_vals = series[:train_end][np.isfinite(series[:train_end])]
    spec = {
        'modelId': cfg['modelId'],
        'modelVersion': '',
        'target': args.target,
        'unit': cfg['unit'],
        'historySteps': 336,
        'seqLen': 96,
        'horizon': 96,
        'minValid': 48,
        'mean': float(np.mean(tr_vals)),
        'scale': float(np.std(tr_vals)),
        'calendarSize': 7,
        'staticSize': 7 + 96 + 48 + 7 + 1,
        'quantiles': list(QUANTILES),
        'trainedOn': {'from': cfg['seriesFrom'], 'trainTo': cfg['trainTo'], 'validation': [cfg['trainTo'], cfg['valTo']], 'test': [cfg['valTo'], cfg['testTo']]},
    }
    tr_o, va_o, te_o = split_origins(series, from_ms, cfg, spec)
    # Neighbouring origins in the hourly (pre-2023) history are near duplicates; every second one keeps training short.
    pre = (C.iso_ms('2023-01-01T00:00Z') - from_ms) // C.HALF_HOUR_MS
    tr_o = tr_o[(tr_o >= pre) | (tr_o % 2 == 0)]
    t0 = time.time()
    tr = make_tensors(series, from_ms, tr_o, spec)
    va = make_tensors(series, from_ms, va_o, spec)
    te = make_tensors(series, from_ms, te_o, spec)
    print(f'{args.target}: train {len(tr["origins"])} val {len(va["origins"])} test {len(te["origins"])} origins; features {time.time() - t0:.1f}s', flush=True)

    members, logs = [], []
    n_members = args.members or cfg['members']
    for k in range(n_members):
        m, log = train_member(tr, va, spec, args.seed + k, args.max_epochs or cfg['maxEpochs'], args.patience)
        members.append(m)
        logs.append(log)
    model = Ensemble(members, spec['horizon'], spec['scale'])
    model.eval()
    band_k = calibrate_bands(model, va, spec)
    print('  band_k', np.round(band_k[[0, 11, 47, 95]], 2))

    val_m = metrics(predict(model, va), va['y'], series, va['origins'], spec)
    test_m = metrics(predict(model, te), te['y'], series, te['origins'], spec)
    for name, m in [('val', val_m), ('test', test_m)]:
        print(f'  {name}: ' + ', '.join(f'{k} MAE@24h {v["24h"]["mae"]:.2f}' for k, v in m.items()), f'coverage {m["lstm"]["coverageP10P90"]:.3f}')

    onnx_path = os.path.join(out_dir, cfg['file'])
    export_onnx(model, spec, onnx_path)
    import hashlib
    spec['modelVersion'] = hashlib.sha256(open(onnx_path, 'rb').read()).hexdigest()[:12]
    spec['onnxFile'] = cfg['file']
    C.write_json(os.path.join(out_dir, 'features.json'), spec)
    save_test_cases(model, series, from_ms, te['origins'], spec, os.path.join(out_dir, 'test-cases.json'), args.seed)
    C.write_json(os.path.join(out_dir, 'metrics.json'), {
        'note': 'Python-side evaluation at every half-hour origin; bench/forecast.ts recomputes these in TypeScript.',
        'members': logs, 'trainSeconds': round(time.time() - t0, 1),
        'bandK': {'1h': band_k[1], '6h': band_k[11], '24h': band_k[47], '48h': band_k[95]},
        'validation': val_m, 'test': test_m,
    })
    print(f'  wrote {onnx_path} version {spec["modelVersion"]}')


if __name__ == '__main__':
    main()
