// The book's generator, run in the reader's browser (no kernel, no network, no eval).
//
// One ES module, no dependencies. It is the front end of the anywidget
// `synthbook.widgets.GeneratorWidget` (default export: `render({model, el})`),
// so the same code draws the panel live in JupyterLab and, from the widget's
// saved state, in the static book. Node runs the pure functions below in the
// parity test (tests/test_generator_js.py).
//
// Weights: dense layers exported by synthbook/widgets/export.py (batch norm and
// the label embedding folded in), int8 with one float32 scale per output row
// (small layers: float16). The training film's earlier frames store their
// largest layer in 4 bits (two a byte, value + 8, low nibble first), same scales.
// Noise: the float16 bank exported with them; truncation is the same
// deterministic transform as export.truncate.

export const FORMAT = 3;
const SAMPLES = 8;
const SIDE = 28;
const PAD = 2;

// ---------------------------------------------------------------- decoding

function asBytes(data) {
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) {
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  }
  throw new Error("weights must be bytes (ArrayBuffer, DataView or Uint8Array)");
}

function halfToFloat(h) {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** Read an export (meta from export_models, its bytes) into a generator bundle. */
export function decode(meta, data) {
  if (!meta || meta.format !== FORMAT) {
    throw new Error("unknown weights format " + (meta && meta.format) + "; expected " + FORMAT);
  }
  // A fresh, aligned copy: typed-array views need 4-byte-aligned offsets.
  const bytes = asBytes(data).slice();
  const buffer = bytes.buffer;
  const models = meta.models.map(function (entry) {
    return { step: entry.step, entry: entry, layers: null };
  });
  let bank = null;
  if (meta.bank) {
    const n = meta.bank.seeds * meta.bank.samples * meta.latent_dim;
    const view = new DataView(buffer, meta.bank.offset, n * 2);
    bank = new Float32Array(n);
    for (let i = 0; i < n; i++) bank[i] = halfToFloat(view.getUint16(2 * i, true));
  }
  return { latent: meta.latent_dim, models: models, bank: bank, meta: meta, buffer: buffer };
}

// 4-bit weights (export._pack4): two a byte, value + 8, the first in the low nibble.
function unpack4(buffer, offset, count) {
  const packed = new Uint8Array(buffer, offset, (count + 1) >> 1);
  const q = new Int8Array(count);
  for (let i = 0; i < count; i++) {
    const byte = packed[i >> 1];
    q[i] = (i & 1 ? byte >> 4 : byte & 15) - 8;
  }
  return q;
}

function layersOf(bundle, index) {
  const model = bundle.models[index];
  if (!model.layers) {
    model.layers = model.entry.layers.map(function (e) {
      const w = new Float32Array(e.rows * e.cols);
      if (e.dtype === "f16") {
        const half = new DataView(bundle.buffer, e.w, 2 * w.length);
        for (let i = 0; i < w.length; i++) w[i] = halfToFloat(half.getUint16(2 * i, true));
      } else {
        if (e.dtype !== "int8" && e.dtype !== "int4") throw new Error("unknown weights dtype " + e.dtype);
        const q = e.dtype === "int4" ? unpack4(bundle.buffer, e.q, e.rows * e.cols)
          : new Int8Array(bundle.buffer, e.q, e.rows * e.cols);
        const scale = new Float32Array(bundle.buffer, e.scale, e.rows);
        for (let r = 0; r < e.rows; r++) {
          const s = scale[r];
          for (let c = 0, o = r * e.cols; c < e.cols; c++, o++) w[o] = Math.fround(q[o] * s);
        }
      }
      const bias = new Float32Array(bundle.buffer, e.bias, e.rows);
      return { rows: e.rows, cols: e.cols, act: e.act, slope: e.slope, w: w, b: bias };
    });
  }
  return model.layers;
}

// ------------------------------------------------------------------ noise

// Normal CDF (Marsaglia 2004: absolute error about 1e-15) and its inverse
// (Acklam's start, refined by Halley steps on that CDF), in float64.
function normCdf(x) {
  if (x < -8) return 0;
  if (x > 8) return 1;
  let sum = x;
  let term = x;
  const x2 = x * x;
  for (let i = 3; i < 400; i += 2) {
    term *= x2 / i;
    const next = sum + term;
    if (next === sum) break;
    sum = next;
  }
  return 0.5 + sum * Math.exp(-0.5 * x2 - 0.91893853320467274178);
}

const A = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239];
const B = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
const C = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
const D = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];

function normQuantile(p) {
  if (p <= 0) return -Infinity;
  if (p >= 1) return Infinity;
  let x;
  if (p < 0.02425) {
    const q = Math.sqrt(-2 * Math.log(p));
    x = (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5]) /
      ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1);
  } else if (p > 1 - 0.02425) {
    const q = Math.sqrt(-2 * Math.log(1 - p));
    x = -(((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5]) /
      ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1);
  } else {
    const q = p - 0.5;
    const r = q * q;
    x = (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q /
      (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1);
  }
  for (let i = 0; i < 3; i++) {
    const e = normCdf(x) - p;
    const u = e * Math.sqrt(2 * Math.PI) * Math.exp(0.5 * x * x);
    x = x - u / (1 + 0.5 * x * u);
  }
  return x;
}

/** Same as export.truncate: map a normal value onto a normal truncated to [-t, t]. */
export function truncate(z, t) {
  const low = normCdf(-t);
  const x = normQuantile(low + normCdf(z) * (1 - 2 * low));
  return Math.min(t, Math.max(-t, x));
}

/** The panel's noise: (SAMPLES x latent) for one setting, as export.latents. */
export function latents(bundle, knobs) {
  const dim = bundle.latent;
  const seeds = bundle.meta.bank.seeds;
  const per = bundle.meta.bank.samples;
  const seed = knobs.seed;
  if (!(Number.isInteger(seed) && seed >= 0 && seed < seeds)) {
    throw new Error("seed must be a whole number from 0 to " + (seeds - 1));
  }
  const count = Math.min(knobs.count || SAMPLES, per);
  const z = new Float32Array(count * dim);
  const start = seed * per * dim;
  const cut = knobs.truncation || 0;
  const scale = knobs.noise_scale;
  const shifts = knobs.shifts || [];
  for (let i = 0; i < count * dim; i++) {
    let v = bundle.bank[start + i];
    if (cut > 0) v = Math.fround(truncate(v, cut));
    v = Math.fround(v * Math.fround(scale));
    const j = i % dim;
    if (j < shifts.length) v = Math.fround(v + Math.fround(shifts[j]));
    z[i] = v;
  }
  return z;
}

/** Label weights as export.label_weights: 1 - blend on digit, blend on the other. */
export function labelWeights(knobs, count) {
  const y = new Float32Array(count * 10);
  const toward = knobs.blend_toward;
  const blending = toward !== null && toward !== undefined && toward >= 0;
  const blend = blending ? Math.fround(knobs.blend) : 0;
  for (let s = 0; s < count; s++) {
    y[s * 10 + knobs.digit] = Math.fround(1 - knobs.blend * (blending ? 1 : 0));
    if (blending) y[s * 10 + toward] = Math.fround(y[s * 10 + toward] + blend);
  }
  return y;
}

// ---------------------------------------------------------------- forward

/** Run snapshot `index` on noise z and label weights y; images in [0, 1]. */
export function forward(bundle, index, z, y, count) {
  const dim = bundle.latent;
  let width = dim + 10;
  let x = new Float32Array(count * width);
  for (let s = 0; s < count; s++) {
    x.set(z.subarray(s * dim, (s + 1) * dim), s * width);
    x.set(y.subarray(s * 10, (s + 1) * 10), s * width + dim);
  }
  const layers = layersOf(bundle, index);
  for (const layer of layers) {
    const rows = layer.rows;
    const cols = layer.cols;
    const w = layer.w;
    const out = new Float32Array(count * rows);
    for (let s = 0; s < count; s++) {
      const xo = s * cols;
      for (let r = 0; r < rows; r++) {
        let acc = 0;
        let o = r * cols;
        let c = 0;
        for (; c + 3 < cols; c += 4, o += 4) {
          acc += w[o] * x[xo + c] + w[o + 1] * x[xo + c + 1] +
            w[o + 2] * x[xo + c + 2] + w[o + 3] * x[xo + c + 3];
        }
        for (; c < cols; c++, o++) acc += w[o] * x[xo + c];
        acc += layer.b[r];
        if (layer.act === "relu") acc = acc > 0 ? acc : 0;
        else if (layer.act === "leaky_relu") acc = acc > 0 ? acc : acc * layer.slope;
        else if (layer.act === "tanh") acc = Math.tanh(acc);
        else if (layer.act === "sigmoid") acc = 1 / (1 + Math.exp(-acc));
        out[s * rows + r] = acc;
      }
    }
    x = out;
    width = rows;
  }
  for (let i = 0; i < x.length; i++) x[i] = (x[i] + 1) / 2;
  return x;
}

/** Images (count x 784, in [0, 1]) for one setting of the knobs. */
export function generate(bundle, knobs) {
  const z = latents(bundle, knobs);
  const count = z.length / bundle.latent;
  const y = labelWeights(knobs, count);
  const index = knobs.snapshot === undefined ? bundle.models.length - 1 : knobs.snapshot;
  return forward(bundle, index, z, y, count);
}

/** The alt text of a picture: what was asked for, with which knobs. */
export function describe(bundle, knobs) {
  const pct = function (v) { return Math.round(v * 100) + "%"; };
  const toward = knobs.blend_toward;
  let label = "the digit " + knobs.digit;
  if (toward !== null && toward !== undefined && toward >= 0 && knobs.blend > 0) {
    label = "a blend of " + pct(1 - knobs.blend) + " digit " + knobs.digit +
      " and " + pct(knobs.blend) + " digit " + toward;
  }
  const index = knobs.snapshot === undefined ? bundle.models.length - 1 : knobs.snapshot;
  const step = bundle.models[index].step;
  const shifts = (knobs.shifts || []).map(function (v, i) { return "z" + i + " " + v.toFixed(1); });
  return "Eight synthetic digits, generated in your browser, asked to be " + label +
    "; seed " + knobs.seed + ", noise scale " + knobs.noise_scale.toFixed(1) +
    ", truncation " + (knobs.truncation > 0 ? knobs.truncation.toFixed(1) : "off") +
    (shifts.length ? ", shifts " + shifts.join(", ") : "") +
    (step >= 0 ? "; generator after " + step + " training steps." : ".");
}

// ------------------------------------------------------------------ drawing

/** Draw images (count x 784) in a row, dark ink on a light ground, into a canvas. */
export function draw(canvas, images, count) {
  const width = count * SIDE + (count - 1) * PAD;
  if (canvas.width !== width) canvas.width = width;
  if (canvas.height !== SIDE) canvas.height = SIDE;
  const context = canvas.getContext("2d");
  const picture = context.createImageData(width, SIDE);
  const px = picture.data;
  px.fill(255);
  for (let s = 0; s < count; s++) {
    const left = s * (SIDE + PAD);
    for (let r = 0; r < SIDE; r++) {
      for (let c = 0; c < SIDE; c++) {
        const v = images[s * 784 + r * SIDE + c];
        const ink = Math.round(255 * (1 - Math.min(1, Math.max(0, v))));
        const o = 4 * (r * width + left + c);
        px[o] = px[o + 1] = px[o + 2] = ink;
      }
    }
  }
  context.putImageData(picture, 0, 0);
}

// ------------------------------------------------------------------- panel

const CSS = [
  ".sbgen{border:1px solid #8886;border-radius:6px;padding:.6em .8em;margin:.5em 0;max-width:46em}",
  ".sbgen-grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(15em,1fr));gap:.3em 1.2em}",
  ".sbgen-row{display:grid;grid-template-columns:7.5em 1fr 3.2em;align-items:center;gap:.4em}",
  ".sbgen-row label{font-size:.9em}.sbgen-row output{font-variant-numeric:tabular-nums;font-size:.9em}",
  ".sbgen-row input[type=range]{width:100%}",
  ".sbgen canvas{display:block;width:100%;max-width:714px;image-rendering:pixelated;",
  "margin-top:.6em;border:1px solid #8884;background:#fff}",
  ".sbgen-alt{font-size:.85em;margin:.3em 0 0}",
].join("");

let counter = 0;

function control(grid, id, spec, value, onInput) {
  const row = document.createElement("div");
  row.className = "sbgen-row";
  const label = document.createElement("label");
  label.htmlFor = id;
  label.textContent = spec.label;
  let input;
  const out = document.createElement("output");
  out.htmlFor = id;
  if (spec.options) {
    input = document.createElement("select");
    for (const [text, v] of spec.options) {
      const option = document.createElement("option");
      option.value = String(v);
      option.textContent = text;
      input.appendChild(option);
    }
    input.value = String(value);
  } else {
    input = document.createElement("input");
    input.type = "range";
    input.min = String(spec.min);
    input.max = String(spec.max);
    input.step = String(spec.step);
    input.value = String(value);
  }
  input.id = id;
  input.name = spec.name;
  const show = function () {
    const v = Number(input.value);
    const text = spec.text ? spec.text(v) : spec.options ? "" : v.toFixed(spec.digits || 0);
    out.textContent = text;
    if (!spec.options) input.setAttribute("aria-valuetext", text);
  };
  input.addEventListener("input", function () { show(); onInput(Number(input.value)); });
  input.addEventListener("change", function () { show(); onInput(Number(input.value)); });
  show();
  row.append(label, input, out);
  grid.appendChild(row);
  return { input: input, show: show };
}

/**
 * Build the panel in `el`: controls, a canvas and its alt text.
 * `state`: {meta, bytes, knobs}; `onChange(name, value)` reports a moved knob.
 * Returns {setWeights(meta, bytes), setKnob(name, value), knobs, redraw}.
 */
export function mount(el, state, onChange) {
  const uid = "sbgen-" + (++counter) + "-" + Math.random().toString(36).slice(2, 8);
  let bundle = decode(state.meta, state.bytes);
  const knobs = Object.assign({ snapshot: bundle.models.length - 1 }, state.knobs);
  knobs.shifts = (knobs.shifts || [0, 0, 0]).slice();
  if (knobs.snapshot >= bundle.models.length) knobs.snapshot = bundle.models.length - 1;

  const root = document.createElement("div");
  root.className = "sbgen";
  root.setAttribute("role", "group");
  root.setAttribute("aria-label", state.title || "Generator panel");
  root.setAttribute("data-sb-panel", "generator");
  // Keys belong to the controls: JupyterLab's shortcuts (Lumino) skip elements
  // marked so, and the notebook does not see arrow keys meant for a slider.
  root.setAttribute("data-lm-suppress-shortcuts", "true");
  root.addEventListener("keydown", function (event) { event.stopPropagation(); });
  const style = document.createElement("style");
  style.textContent = CSS;
  const grid = document.createElement("div");
  grid.className = "sbgen-grid";
  const canvas = document.createElement("canvas");
  canvas.setAttribute("role", "img");
  canvas.setAttribute("aria-labelledby", uid + "-alt");
  const alt = document.createElement("p");
  alt.className = "sbgen-alt";
  alt.id = uid + "-alt";
  root.append(style, grid, canvas, alt);
  el.appendChild(root);

  const inputs = {};
  function redraw() {
    // Blend means nothing without a second digit: say so by disabling it.
    if (inputs.blend) {
      const t = knobs.blend_toward;
      inputs.blend.input.disabled = t === null || t === undefined || t < 0;
    }
    const images = generate(bundle, knobs);
    draw(canvas, images, images.length / 784);
    alt.textContent = describe(bundle, knobs);
  }
  function set(name, value) {
    if (name.startsWith("z")) knobs.shifts[Number(name.slice(1))] = value;
    else knobs[name] = value;
    redraw();
    if (onChange) onChange(name, name.startsWith("z") ? knobs.shifts.slice() : value);
  }
  const digits = [];
  for (let d = 0; d < 10; d++) digits.push([String(d), d]);
  const fixed = function (n) { return function (v) { return v.toFixed(n); }; };
  const specs = [
    { name: "digit", label: "digit", options: digits },
    { name: "blend_toward", label: "blend toward", options: [["none", -1]].concat(digits) },
    { name: "blend", label: "blend", min: 0, max: 1, step: 0.05, text: fixed(2) },
    { name: "seed", label: "seed", min: 0, max: bundle.meta.bank.seeds - 1, step: 1 },
    { name: "noise_scale", label: "noise scale", min: 0, max: 3, step: 0.1, text: fixed(1) },
    {
      name: "truncation", label: "truncation", min: 0, max: 3, step: 0.1,
      text: function (v) { return v > 0 ? v.toFixed(1) : "off"; },
    },
  ];
  for (let i = 0; i < knobs.shifts.length; i++) {
    specs.push({ name: "z" + i, label: "z" + i + " shift", min: -3, max: 3, step: 0.1, text: fixed(1) });
  }
  for (const spec of specs) {
    const value = spec.name.startsWith("z") ? knobs.shifts[Number(spec.name.slice(1))]
      : spec.name === "blend_toward" ? (knobs.blend_toward === null ? -1 : knobs.blend_toward)
        : knobs[spec.name];
    inputs[spec.name] = control(grid, uid + "-" + spec.name, spec, value, function (v) { set(spec.name, v); });
  }
  let film = null;
  function addFilm() {
    if (film) film.input.parentNode.remove();
    film = null;
    if (bundle.models.length < 2) return;
    film = control(grid, uid + "-snapshot", {
      name: "snapshot", label: "training step", min: 0, max: bundle.models.length - 1, step: 1,
      text: function (v) { return String(bundle.models[v].step); },
    }, knobs.snapshot, function (v) { set("snapshot", v); });
    inputs.snapshot = film;
  }
  addFilm();
  redraw();
  return {
    knobs: knobs,
    redraw: redraw,
    root: root,
    setWeights: function (meta, bytes) {
      bundle = decode(meta, bytes);
      knobs.snapshot = bundle.models.length - 1;
      addFilm();
      redraw();
    },
    setKnob: function (name, value) {
      if (name === "shifts") {
        value.forEach(function (v, i) {
          knobs.shifts[i] = v;
          if (inputs["z" + i]) { inputs["z" + i].input.value = String(v); inputs["z" + i].show(); }
        });
      } else {
        knobs[name] = name === "blend_toward" && value === null ? -1 : value;
        if (inputs[name]) { inputs[name].input.value = String(knobs[name]); inputs[name].show(); }
      }
      redraw();
    },
  };
}

// --------------------------------------------------------------- anywidget

const KNOBS = ["digit", "blend_toward", "blend", "seed", "noise_scale", "truncation", "shifts", "snapshot"];

function render({ model, el }) {
  const knobs = {};
  for (const name of KNOBS) knobs[name] = model.get(name);
  const panel = mount(el, {
    meta: model.get("meta"), bytes: model.get("weights"), knobs: knobs, title: model.get("title"),
  }, function (name, value) {
    // Live in Jupyter the kernel hears of the move; in the static book there is
    // no kernel and save_changes does nothing.
    if (name === "blend_toward" && value < 0) value = null;
    model.set(name.startsWith("z") ? "shifts" : name, value);
    model.save_changes();
  });
  const onWeights = function () { panel.setWeights(model.get("meta"), model.get("weights")); };
  model.on("change:weights", onWeights);
  const handlers = KNOBS.map(function (name) {
    const h = function () {
      const v = model.get(name);
      const mine = name === "shifts" ? panel.knobs.shifts : panel.knobs[name];
      if (JSON.stringify(v) !== JSON.stringify(mine)) panel.setKnob(name, v);
    };
    model.on("change:" + name, h);
    return [name, h];
  });
  return function () {
    model.off("change:weights", onWeights);
    for (const [name, h] of handlers) model.off("change:" + name, h);
  };
}

export default { render };
