// The application's only script: no inline scripts or handlers anywhere (Content-Security-Policy).
(function () {
  "use strict";

  // <select data-autosubmit>: submit the form when the choice changes (language switch).
  document.querySelectorAll("[data-autosubmit]").forEach(function (element) {
    element.addEventListener("change", function () {
      if (element.form) {
        element.form.submit();
      }
    });
    var button = element.form && element.form.querySelector("[data-autosubmit-fallback]");
    if (button) {
      button.classList.add("visually-hidden");
    }
  });
})();
