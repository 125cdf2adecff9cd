// The projector: a WebGL scatter of a server-side projection (2D or 3D), plain WebGL 1, no library.
// Points are drawn in one call from two buffers (position, colour); a click is resolved on the CPU
// against the same matrix, and neighbours come from the server (the original space, not this one).
"use strict";

const Projector = (() => {
  const VERT = `
    attribute vec3 a_pos; attribute vec3 a_col;
    uniform mat4 u_m; uniform float u_size;
    varying vec3 v_col;
    void main() {
      vec4 p = u_m * vec4(a_pos, 1.0);
      gl_Position = vec4(p.xy, 0.0, 1.0);
      gl_PointSize = u_size;
      v_col = a_col;
    }`;
  const FRAG = `
    precision mediump float;
    varying vec3 v_col;
    void main() {
      vec2 d = gl_PointCoord - vec2(0.5);
      if (dot(d, d) > 0.25) discard;
      gl_FragColor = vec4(v_col, 1.0);
    }`;
  const PALETTE = [[36, 87, 197], [217, 130, 43], [46, 158, 91], [179, 38, 30], [122, 76, 194],
    [91, 100, 117], [194, 71, 143], [29, 138, 153], [160, 140, 20], [90, 60, 30], [0, 0, 0],
    [120, 180, 240]].map((c) => c.map((v) => v / 255));

  const st = { n: 0, dims: 3, ids: [], coords: null, columns: {}, index: new Map(), yaw: 0.6,
               pitch: 0.4, zoom: 0.9, centre: [0, 0, 0], picked: -1, marked: [], frames: 0,
               frameTimes: [] };
  let gl = null, prog = null, posBuf = null, colBuf = null, hiPos = null, hiCol = null;

  function compile(type, src) {
    const s = gl.createShader(type);
    gl.shaderSource(s, src);
    gl.compileShader(s);
    if (!gl.getShaderParameter(s, gl.COMPILE_STATUS)) throw new Error(gl.getShaderInfoLog(s));
    return s;
  }

  function init(canvas) {
    gl = canvas.getContext("webgl", { antialias: true, preserveDrawingBuffer: true });
    if (!gl) throw new Error("WebGL is not available in this browser: the projector needs it.");
    prog = gl.createProgram();
    gl.attachShader(prog, compile(gl.VERTEX_SHADER, VERT));
    gl.attachShader(prog, compile(gl.FRAGMENT_SHADER, FRAG));
    gl.linkProgram(prog);
    if (!gl.getProgramParameter(prog, gl.LINK_STATUS)) throw new Error(gl.getProgramInfoLog(prog));
    [posBuf, colBuf, hiPos, hiCol] = [0, 1, 2, 3].map(() => gl.createBuffer());
  }

  function matrix() {
    // column-major 4x4: scale(zoom, aspect) * rotX(pitch) * rotY(yaw) * translate(-centre)
    const canvas = gl.canvas, aspect = canvas.height / canvas.width;
    const [cy, sy, cp, sp] = [Math.cos(st.yaw), Math.sin(st.yaw), Math.cos(st.pitch), Math.sin(st.pitch)];
    const r = st.dims === 3
      ? [cy, sp * sy, -cp * sy, 0, 0, cp, sp, 0, sy, -sp * cy, cp * cy, 0]
      : [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0];
    const z = st.zoom, [tx, ty, tz] = st.centre;
    const m = new Float32Array(16);
    for (let c = 0; c < 3; c++) {
      m[c * 4] = r[c * 4] * z * aspect;
      m[c * 4 + 1] = r[c * 4 + 1] * z;
      m[c * 4 + 2] = r[c * 4 + 2] * z;
    }
    m[12] = -(m[0] * tx + m[4] * ty + m[8] * tz);
    m[13] = -(m[1] * tx + m[5] * ty + m[9] * tz);
    m[14] = -(m[2] * tx + m[6] * ty + m[10] * tz);
    m[15] = 1;
    return m;
  }

  function point(i) {
    const c = st.coords, d = st.dims;
    return [c[i * d], c[i * d + 1], d === 3 ? c[i * d + 2] : 0];
  }

  function positions() {
    const out = new Float32Array(st.n * 3);
    for (let i = 0; i < st.n; i++) out.set(point(i), i * 3);
    return out;
  }

  function colours(column) {
    const out = new Float32Array(st.n * 3);
    const values = column ? st.columns[column] : null;
    if (!values) {
      for (let i = 0; i < st.n; i++) out.set([0.36, 0.42, 0.55], i * 3);
    } else if (column === "cluster") {
      for (let i = 0; i < st.n; i++) out.set(PALETTE[values[i] % PALETTE.length], i * 3);
    } else if (values.some((v) => typeof v === "string") || new Set(values).size <= PALETTE.length) {
      // categories (text, or few distinct numbers such as labels): the most frequent values get
      // a colour each, the rest grey
      const freq = new Map();
      values.forEach((v) => freq.set(v, (freq.get(v) || 0) + 1));
      const top = [...freq.entries()].sort((a, b) => b[1] - a[1]).slice(0, PALETTE.length - 1);
      const slot = new Map(top.map(([v], i) => [v, i]));
      for (let i = 0; i < st.n; i++) {
        out.set(slot.has(values[i]) ? PALETTE[slot.get(values[i])] : [0.8, 0.8, 0.8], i * 3);
      }
    } else {
      // a number: a blue-to-orange ramp, on a log scale when it spans orders of magnitude
      let lo = Infinity, hi = -Infinity;
      for (const v of values) if (v !== null) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
      const log = lo >= 0 && hi > 100 * Math.max(lo, 1);
      const f = log ? (v) => Math.log1p(v) : (v) => v;
      const a = f(lo), b = f(hi);
      for (let i = 0; i < st.n; i++) {
        if (values[i] === null) { out.set([0.8, 0.8, 0.8], i * 3); continue; }
        const t = b > a ? (f(values[i]) - a) / (b - a) : 0.5;
        out.set([0.14 + 0.71 * t, 0.34 + 0.17 * t, 0.77 - 0.6 * t], i * 3);
      }
    }
    return out;
  }

  function draw() {
    if (!gl || !st.n) return;
    const t0 = performance.now();
    gl.viewport(0, 0, gl.canvas.width, gl.canvas.height);
    gl.clearColor(1, 1, 1, 1);
    gl.clear(gl.COLOR_BUFFER_BIT);
    gl.useProgram(prog);
    gl.uniformMatrix4fv(gl.getUniformLocation(prog, "u_m"), false, matrix());
    const pos = gl.getAttribLocation(prog, "a_pos"), col = gl.getAttribLocation(prog, "a_col");
    const bind = (buf, at) => {
      gl.bindBuffer(gl.ARRAY_BUFFER, buf);
      gl.enableVertexAttribArray(at);
      gl.vertexAttribPointer(at, 3, gl.FLOAT, false, 0, 0);
    };
    bind(posBuf, pos);
    bind(colBuf, col);
    gl.uniform1f(gl.getUniformLocation(prog, "u_size"), st.n > 50000 ? 2.5 : 4.0);
    gl.drawArrays(gl.POINTS, 0, st.n);
    const marked = [...st.marked, ...(st.picked >= 0 ? [st.picked] : [])];
    if (marked.length) {
      const p = new Float32Array(marked.length * 3), c = new Float32Array(marked.length * 3);
      marked.forEach((i, j) => {
        p.set(point(i), j * 3);
        c.set(i === st.picked ? [0.9, 0.1, 0.1] : [0.1, 0.1, 0.1], j * 3);
      });
      gl.bindBuffer(gl.ARRAY_BUFFER, hiPos);
      gl.bufferData(gl.ARRAY_BUFFER, p, gl.DYNAMIC_DRAW);
      gl.bindBuffer(gl.ARRAY_BUFFER, hiCol);
      gl.bufferData(gl.ARRAY_BUFFER, c, gl.DYNAMIC_DRAW);
      bind(hiPos, pos);
      bind(hiCol, col);
      gl.uniform1f(gl.getUniformLocation(prog, "u_size"), 9.0);
      gl.drawArrays(gl.POINTS, 0, marked.length);
    }
    st.frames += 1;
    st.frameTimes.push(performance.now() - t0);
    if (st.frameTimes.length > 600) st.frameTimes.shift();
  }

  let pending = false;
  function redraw() {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => { pending = false; draw(); });
  }

  function load(data) {
    const bytes = Uint8Array.from(atob(data.coords), (ch) => ch.charCodeAt(0));
    st.coords = new Float32Array(bytes.buffer);
    st.dims = data.dims;
    st.ids = data.ids;
    st.n = data.ids.length;
    st.columns = data.columns;
    st.images = Boolean(data.images);
    st.index = new Map(data.ids.map((k, i) => [k, i]));
    st.picked = -1;
    st.marked = [];
    st.centre = [0, 0, 0];
    st.zoom = 0.9;
    gl.bindBuffer(gl.ARRAY_BUFFER, posBuf);
    gl.bufferData(gl.ARRAY_BUFFER, positions(), gl.STATIC_DRAW);
    colour("");
  }

  function colour(column) {
    gl.bindBuffer(gl.ARRAY_BUFFER, colBuf);
    gl.bufferData(gl.ARRAY_BUFFER, colours(column), gl.STATIC_DRAW);
    gl.canvas.dataset.colour = column;
    redraw();
  }

  function screen() {
    // every point's canvas pixel, as drawn now
    const m = matrix(), w = gl.canvas.width, h = gl.canvas.height;
    const out = new Float32Array(st.n * 2);
    for (let i = 0; i < st.n; i++) {
      const [x, y, z] = point(i);
      out[i * 2] = ((m[0] * x + m[4] * y + m[8] * z + m[12]) + 1) / 2 * w;
      out[i * 2 + 1] = (1 - (m[1] * x + m[5] * y + m[9] * z + m[13])) / 2 * h;
    }
    return out;
  }

  function inside(x0, y0, x1, y1) {
    // the points drawn inside the canvas rectangle (x0, y0)-(x1, y1)
    const xy = screen(), out = [];
    const [a, b, c, d] = [Math.min(x0, x1), Math.min(y0, y1), Math.max(x0, x1), Math.max(y0, y1)];
    for (let i = 0; i < st.n; i++) {
      const x = xy[i * 2], y = xy[i * 2 + 1];
      if (x >= a && x <= c && y >= b && y <= d) out.push(i);
    }
    return out;
  }

  function pick(px, py) {
    // the point drawn nearest to canvas pixel (px, py), within 8 pixels; -1 for none
    const m = matrix(), w = gl.canvas.width, h = gl.canvas.height;
    let best = -1, bestD = 64;
    for (let i = 0; i < st.n; i++) {
      const [x, y, z] = point(i);
      const sx = ((m[0] * x + m[4] * y + m[8] * z + m[12]) + 1) / 2 * w;
      const sy = (1 - (m[1] * x + m[5] * y + m[9] * z + m[13])) / 2 * h;
      const d = (sx - px) ** 2 + (sy - py) ** 2;
      if (d < bestD) { bestD = d; best = i; }
    }
    return best;
  }

  function flyTo(i) {
    st.centre = point(i);
    st.zoom = Math.max(st.zoom, 4);
    st.picked = i;
    redraw();
  }

  function attach(canvas, onPick, onSelect, box) {
    // drag: rotate (3D) or pan (2D); shift-drag: select a region; click: pick a point
    let drag = null;
    const scale = () => canvas.width / canvas.clientWidth;
    canvas.addEventListener("pointerdown", (e) => {
      drag = { x: e.offsetX, y: e.offsetY, x0: e.offsetX, y0: e.offsetY, moved: false,
               select: e.shiftKey };
      canvas.setPointerCapture(e.pointerId);
    });
    canvas.addEventListener("pointermove", (e) => {
      if (!drag) return;
      if (drag.select) {
        drag.moved = true;
        box.hidden = false;
        box.style.left = `${canvas.offsetLeft + Math.min(drag.x0, e.offsetX)}px`;
        box.style.top = `${canvas.offsetTop + Math.min(drag.y0, e.offsetY)}px`;
        box.style.width = `${Math.abs(e.offsetX - drag.x0)}px`;
        box.style.height = `${Math.abs(e.offsetY - drag.y0)}px`;
        return;
      }
      const dx = e.offsetX - drag.x, dy = e.offsetY - drag.y;
      if (Math.abs(dx) + Math.abs(dy) > 2) drag.moved = true;
      if (!drag.moved) return;
      if (st.dims === 3) {
        st.yaw += dx * 0.01;
        st.pitch = Math.max(-1.5, Math.min(1.5, st.pitch + dy * 0.01));
      } else {
        const s = 2 / (st.zoom * canvas.height);
        st.centre = [st.centre[0] - dx * s, st.centre[1] + dy * s, 0];
      }
      drag.x = e.offsetX;
      drag.y = e.offsetY;
      redraw();
    });
    canvas.addEventListener("pointerup", (e) => {
      const was = drag;
      drag = null;
      if (!was || !st.n) return;
      if (was.select) {
        box.hidden = true;
        const k = scale();
        const chosen = inside(was.x0 * k, was.y0 * k, e.offsetX * k, e.offsetY * k);
        st.marked = chosen;
        redraw();
        onSelect(chosen);
        return;
      }
      if (was.moved) return;
      const i = pick(e.offsetX * scale(), e.offsetY * scale());
      if (i >= 0) { st.picked = i; redraw(); onPick(i); }
    });
    canvas.addEventListener("wheel", (e) => {
      e.preventDefault();
      st.zoom = Math.max(0.2, Math.min(400, st.zoom * Math.exp(-e.deltaY * 0.001)));
      redraw();
    }, { passive: false });
  }

  function spin(ms) {
    // rotate one step every animation frame for ``ms``; resolves to the frames drawn and the
    // seconds taken (what the browser managed, each frame a full draw of every point)
    return new Promise((resolve) => {
      const t0 = performance.now(), f0 = st.frames;
      const step = () => {
        st.yaw += 0.02;
        draw();
        gl.finish();
        if (performance.now() - t0 < ms) requestAnimationFrame(step);
        else resolve({ frames: st.frames - f0, seconds: (performance.now() - t0) / 1000 });
      };
      requestAnimationFrame(step);
    });
  }

  function stats() {
    const t = [...st.frameTimes].sort((a, b) => a - b);
    return { frames: st.frames, points: st.n, medianDrawMs: t.length ? t[t.length >> 1] : null };
  }

  return { st, init, load, colour, draw, redraw, flyTo, attach, pick, inside, stats, spin,
           mark(list) { st.marked = list; redraw(); } };
})();
