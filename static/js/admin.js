// The Django admin's accessibility additions (templates/admin/base_site.html); no inline scripts
// (Content-Security-Policy). axe-core finds no serious violation on the admin's pages with them:
// - Django's autocomplete boxes (select2, ModelAdmin.autocomplete_fields) are named only by the value
//   they show, so an empty box has no accessible name: each is named after its field's label too.
// - Inline tables scroll sideways on a phone: each inline group is a named region a keyboard can
//   focus (and so scroll), as the application's own scrolling tables are.
(function () {
  "use strict";

  function nameAutocompleteBoxes(root) {
    root.querySelectorAll("select.admin-autocomplete").forEach(function (select) {
      var label = select.id ? document.querySelector('label[for="' + select.id + '"]') : null;
      var box = select.nextElementSibling;
      if (!label || !box || !box.classList.contains("select2")) {
        return;
      }
      if (!label.id) {
        label.id = select.id + "-label";
      }
      box.querySelectorAll('[role="combobox"][aria-labelledby], [role="textbox"]').forEach(function (element) {
        var shown = element.getAttribute("role") === "textbox" ? element.id : element.getAttribute("aria-labelledby");
        element.setAttribute("aria-labelledby", shown ? label.id + " " + shown : label.id);
      });
    });
  }

  function focusableInlines() {
    document.querySelectorAll(".inline-group").forEach(function (group) {
      var heading = group.querySelector(".inline-heading[id]");
      group.setAttribute("tabindex", "0");
      group.setAttribute("role", "region");
      if (heading) {
        group.setAttribute("aria-labelledby", heading.id);
      }
    });
  }

  focusableInlines();
  // Django's autocomplete.js makes its boxes when the document is ready (and when an inline row is
  // added): name them after it, in the same order.
  if (window.django && window.django.jQuery) {
    window.django.jQuery(function () {
      nameAutocompleteBoxes(document);
    });
    document.addEventListener("formset:added", function (event) {
      nameAutocompleteBoxes(event.target);
    });
  }
})();
