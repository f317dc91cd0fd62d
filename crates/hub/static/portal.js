// 利用申請: agreeing becomes possible once the terms have been scrolled to the end.
document.addEventListener("DOMContentLoaded", function () {
  var t = document.getElementById("terms"), agree = document.getElementById("agree"), read = document.getElementById("read"), apply = document.getElementById("apply");
  if (!t || !agree) return;
  function check() {
    if (t.scrollTop + t.clientHeight >= t.scrollHeight - 4) {
      agree.disabled = false; read.value = "1";
      var hint = document.getElementById("scroll-hint"); if (hint) hint.textContent = "最後まで読みました。同意する場合はチェックを入れてください。";
    }
  }
  t.addEventListener("scroll", check); check();
  agree.addEventListener("change", function () { apply.disabled = !agree.checked; });
});
