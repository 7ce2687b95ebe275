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

  // <details data-open-wide>: the filters stay folded on a phone and open on a wider screen.
  if (window.matchMedia("(min-width: 768px)").matches) {
    document.querySelectorAll("details[data-open-wide]").forEach(function (element) {
      element.setAttribute("open", "");
    });
  }

  // table.card-rows: each cell names its column (data-label), which a phone shows before the value.
  document.querySelectorAll("table.card-rows").forEach(function (table) {
    var labels = Array.prototype.map.call(table.querySelectorAll("thead th"), function (th) {
      return th.textContent.trim();
    });
    table.querySelectorAll("tbody tr").forEach(function (row) {
      Array.prototype.forEach.call(row.children, function (cell, index) {
        if (labels[index] && !cell.hasAttribute("data-label")) {
          cell.setAttribute("data-label", labels[index]);
        }
      });
    });
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
