// The 事業所 switch: choosing an office in the dropdown switches to it (the page's CSP allows no
// inline handlers; the 切替 button does the same without JavaScript).
document.addEventListener("DOMContentLoaded", function () {
  var form = document.getElementById("office-switch");
  if (!form) return;
  form.querySelector("select").addEventListener("change", function () { form.submit(); });
});

// Drag-and-drop into the file input of 新規作成 (the input stays usable by keyboard).
document.addEventListener("DOMContentLoaded", function () {
  var drop = document.getElementById("drop"), input = document.getElementById("files");
  if (!drop || !input) return;
  ["dragenter", "dragover"].forEach(function (e) { drop.addEventListener(e, function (ev) { ev.preventDefault(); drop.classList.add("over"); }); });
  ["dragleave", "drop"].forEach(function (e) { drop.addEventListener(e, function () { drop.classList.remove("over"); }); });
  drop.addEventListener("drop", function (ev) {
    ev.preventDefault();
    input.files = ev.dataTransfer.files;
    input.dispatchEvent(new Event("change", { bubbles: true }));
  });
  drop.addEventListener("keydown", function (ev) { if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); input.click(); } });
});
