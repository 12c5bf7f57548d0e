// Body of the precomputed panel's inline script (see precomputed.py): `root` is
// the panel, `data` = {frames: {key: {p, alt, text}}, pictures: [data URI]}.
// Shows the frame the menus select. Plain ES5, no network, no eval.
var menus = root.querySelectorAll("select");
var img = root.querySelector("img");
var text = root.querySelector(".sb-panel-text");
function show() {
  var key = Array.prototype.map.call(menus, function (m) { return m.value; }).join("|");
  var frame = data.frames[key];
  if (!frame) { return; }
  img.src = data.pictures[frame.p];
  img.alt = frame.alt;
  text.textContent = frame.text;
}
Array.prototype.forEach.call(menus, function (m) {
  m.addEventListener("change", show);
  m.addEventListener("input", show);
});
// Keys belong to the menus: JupyterLab's shortcuts skip elements marked so.
root.setAttribute("data-lm-suppress-shortcuts", "true");
root.addEventListener("keydown", function (event) { event.stopPropagation(); });
