// Date fields (core/forms.py DateInput) stay text boxes typed as dd/mm/yyyy; a button beside each
// opens flatpickr's calendar, which writes the chosen day in the same form. The calendar works on a
// hidden input of its own, so typing (25/10/2026, 25-10-2026, 25.10.2026 or ISO) is never rewritten
// in the box: the server reads and checks what was typed. No inline scripts (Content-Security-Policy).
(function () {
  "use strict";
  if (typeof flatpickr === "undefined") {
    return;
  }
  var DMY = /^(\d{1,2})[\/.\-](\d{1,2})[\/.\-](\d{4})$/;
  var ISO = /^(\d{4})-(\d{1,2})-(\d{1,2})$/;
  var vietnamese = document.documentElement.lang === "vi" && flatpickr.l10ns && flatpickr.l10ns.vn;

  function parse(text) {
    var match = DMY.exec(text.trim());
    var day, month, year;
    if (match) {
      day = +match[1]; month = +match[2]; year = +match[3];
    } else {
      match = ISO.exec(text.trim());
      if (!match) {
        return null;
      }
      year = +match[1]; month = +match[2]; day = +match[3];
    }
    var date = new Date(year, month - 1, day);
    return date.getMonth() === month - 1 && date.getDate() === day ? date : null;
  }

  function icon() {
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 16 16");
    svg.setAttribute("width", "16");
    svg.setAttribute("height", "16");
    svg.setAttribute("aria-hidden", "true");
    var path = document.createElementNS(ns, "path");
    path.setAttribute("fill", "currentColor");
    path.setAttribute(
      "d",
      "M4 0a.5.5 0 0 1 .5.5V1h7V.5a.5.5 0 0 1 1 0V1H14a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H2a2 2 0 0 1-2-2V3a2 2 0 0 1 2-2h1.5V.5A.5.5 0 0 1 4 0zM1 5v9a1 1 0 0 0 1 1h12a1 1 0 0 0 1-1V5H1z"
    );
    svg.appendChild(path);
    return svg;
  }

  document.querySelectorAll("input[data-calendar-label]").forEach(function (input) {
    if (input.readOnly || input.disabled) {
      return;
    }
    var group = document.createElement("div");
    group.className = "input-group date-picker";
    input.parentNode.insertBefore(group, input);
    group.appendChild(input);
    var button = document.createElement("button");
    button.type = "button";
    button.className = "btn btn-outline-secondary date-picker-toggle";
    button.setAttribute("aria-label", input.getAttribute("data-calendar-label") || "Calendar");
    button.title = button.getAttribute("aria-label");
    button.appendChild(icon());
    group.appendChild(button);
    var holder = document.createElement("input");  // flatpickr shows a hidden input: keep it out of sight
    holder.className = "d-none";
    holder.tabIndex = -1;
    holder.setAttribute("aria-hidden", "true");
    group.appendChild(holder);
    var calendar = flatpickr(holder, {
      locale: vietnamese || { firstDayOfWeek: 1 },  // weeks begin on Monday in Vietnam
      dateFormat: "d/m/Y",
      disableMobile: true,
      clickOpens: false,
      positionElement: input,
      onOpen: function () {
        var typed = parse(input.value);
        if (typed) {
          calendar.setDate(typed, false);
          calendar.jumpToDate(typed);
        }
      },
      onChange: function (dates, text) {
        if (dates.length) {
          input.value = text;
          input.dispatchEvent(new Event("change", { bubbles: true }));
        }
        calendar.close();
        input.focus();
      },
    });
    button.addEventListener("click", function () {
      calendar.toggle();
    });
  });
})();
