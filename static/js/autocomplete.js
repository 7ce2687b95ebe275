// The pickers (core/widgets.py): each <select data-autocomplete-url> becomes a Tom Select box that
// asks the endpoint for what the user types ({"results": [{value, text}], "next": url}), page by
// page as the list scrolls. The server searches without marks or case, so the box shows its
// answers as they come. No inline scripts (Content-Security-Policy).
(function () {
  "use strict";
  if (typeof TomSelect === "undefined") {
    return;
  }

  function withQuery(url, query) {
    return url + (url.indexOf("?") === -1 ? "?" : "&") + "q=" + encodeURIComponent(query);
  }

  function message(text) {
    var div = document.createElement("div");
    div.className = "no-results";
    div.textContent = text;
    return div;
  }

  document.querySelectorAll("select[data-autocomplete-url]").forEach(function (select) {
    var url = select.getAttribute("data-autocomplete-url");
    var plugins = { virtual_scroll: {} };
    if (!select.required) {
      plugins.clear_button = { title: select.getAttribute("data-clear") };
    }
    var settings = {
      valueField: "value",
      labelField: "text",
      searchField: [],
      maxOptions: null,
      preload: "focus",
      loadThrottle: 250,
      allowEmptyOption: false,
      placeholder: select.getAttribute("data-placeholder"),
      plugins: plugins,
      // The server has matched "nguyen" to "Nguyễn": keep its answers and its order.
      score: function () {
        return function () {
          return 1;
        };
      },
      firstUrl: function (query) {
        return withQuery(url, query);
      },
      load: function (query, callback) {
        var box = this;
        fetch(box.getUrl(query), { headers: { Accept: "application/json" }, credentials: "same-origin" })
          .then(function (response) {
            return response.ok ? response.json() : { results: [] };
          })
          .then(function (data) {
            if (data.next) {
              box.setNextUrl(query, data.next);
            }
            callback(data.results);
          })
          .catch(function () {
            callback();
          });
      },
      render: {
        no_results: function () {
          return message(select.getAttribute("data-no-results"));
        },
        loading_more: function () {
          return message(select.getAttribute("data-loading"));
        },
        no_more_results: function () {
          return null;
        },
      },
    };
    // Tom Select points the label at its own input: the hidden select keeps the label's text as its name.
    var label = select.id ? document.querySelector('label[for="' + select.id + '"]') : null;
    if (label && !select.hasAttribute("aria-label")) {
      select.setAttribute("aria-label", label.textContent.replace(/\s*\*\s*$/, "").trim());
    }
    new TomSelect(select, settings);
  });
})();
