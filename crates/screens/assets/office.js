// The 事業所 switch: choosing an office in the dropdown switches to it (the page's CSP allows no
// inline handlers; the 切替 button does the same without JavaScript).
document.addEventListener("DOMContentLoaded", function () {
  var form = document.getElementById("office-switch");
  if (!form) return;
  form.querySelector("select").addEventListener("change", function () { form.submit(); });
});

// Drag-and-drop into the file input of 新規作成 and 一括送信 (the input stays usable by
// keyboard). A dropped folder gives its files, those of its subfolders too (hidden ones left
// out), as 一括送信 from a folder does in the local client; so does 「フォルダを選ぶ」.
document.addEventListener("DOMContentLoaded", function () {
  var drop = document.getElementById("drop"), input = document.getElementById("files");
  if (!drop || !input) return;
  function choose(files) {
    var dt = new DataTransfer();
    files.forEach(function (f) { if (f.name.charAt(0) !== ".") dt.items.add(f); });
    input.files = dt.files;
    input.dispatchEvent(new Event("change", { bubbles: true }));
  }
  // The files under dropped entries (folders read in batches until empty), then done(files).
  function walk(entries, done) {
    var files = [], pending = 0;
    function settle() { if (--pending === 0) done(files); }
    function visit(entry) {
      pending++;
      if (entry.isFile) {
        entry.file(function (f) { files.push(f); settle(); }, settle);
      } else if (entry.isDirectory && entry.name.charAt(0) !== ".") {
        var reader = entry.createReader();
        (function more() {
          reader.readEntries(function (batch) {
            if (!batch.length) { settle(); return; }
            batch.forEach(visit);
            more();
          }, settle);
        })();
      } else {
        settle();
      }
    }
    pending++;
    entries.forEach(visit);
    settle();
  }
  ["dragenter", "dragover"].forEach(function (e) { drop.addEventListener(e, function (ev) { ev.preventDefault(); drop.classList.add("over"); }); });
  ["dragleave", "drop"].forEach(function (e) { drop.addEventListener(e, function () { drop.classList.remove("over"); }); });
  drop.addEventListener("drop", function (ev) {
    ev.preventDefault();
    var items = ev.dataTransfer.items, entries = [];
    for (var i = 0; items && i < items.length; i++) {
      var entry = items[i].webkitGetAsEntry ? items[i].webkitGetAsEntry() : null;
      if (entry) entries.push(entry);
    }
    if (input.multiple && entries.some(function (e) { return e.isDirectory; })) {
      walk(entries, choose);
    } else {
      input.files = ev.dataTransfer.files;
      input.dispatchEvent(new Event("change", { bubbles: true }));
    }
  });
  drop.addEventListener("keydown", function (ev) { if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); input.click(); } });
  var folder = document.getElementById("folder");
  if (folder) folder.addEventListener("change", function () { choose(Array.prototype.slice.call(folder.files)); });
});
