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

  // [data-scroll-cue]: a table wider than its card scrolls inside it; say so while there is more to the right.
  function updateScrollCue(box) {
    var cue = document.getElementById(box.getAttribute("data-scroll-cue"));
    var scrollable = box.scrollWidth > box.clientWidth + 1;
    var atEnd = box.scrollLeft + box.clientWidth >= box.scrollWidth - 1;
    box.classList.toggle("is-scrollable", scrollable && !atEnd);
    if (cue) {
      cue.classList.toggle("is-shown", scrollable);
    }
  }
  document.querySelectorAll("[data-scroll-cue]").forEach(function (box) {
    updateScrollCue(box);
    box.addEventListener("scroll", function () {
      updateScrollCue(box);
    });
    window.addEventListener("resize", function () {
      updateScrollCue(box);
    });
  });
})();
