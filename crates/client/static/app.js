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
