// The dashboard's charts (Chart.js, served from static/vendor/chartjs/) and its print button.
// The figures come from the page's <script type="application/json" id="dashboard-data">.
(function () {
  "use strict";

  var source = document.getElementById("dashboard-data");
  var data = source ? JSON.parse(source.textContent) : null;

  // Print: open the linked lists first so they print in full.
  function openLists() {
    document.querySelectorAll("details.gap-list").forEach(function (element) {
      element.setAttribute("open", "");
    });
  }
  window.addEventListener("beforeprint", openLists);
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.addEventListener("click", function () {
      openLists();
      window.print();
    });
  });

  if (!data || typeof window.Chart === "undefined") {
    return;
  }
  var Chart = window.Chart;
  var language = document.documentElement.lang || "vi";
  var numberFormat = new Intl.NumberFormat(language === "vi" ? "vi-VN" : "en-GB");
  Chart.defaults.locale = language === "vi" ? "vi-VN" : "en-GB";
  Chart.defaults.maintainAspectRatio = false;
  Chart.defaults.animation = window.matchMedia("(prefers-reduced-motion: reduce)").matches ? false : Chart.defaults.animation;

  function tooltipLabel(context) {
    var value = context.parsed.y;
    return context.dataset.label + ": " + (value === null ? "—" : numberFormat.format(value));
  }

  // Actual against target, per committee directly below, for the chosen metric.
  var committeesCanvas = document.getElementById("chart-committees");
  var metricSelect = document.getElementById("chart-metric");
  var committeesChart = null;

  function metricData(key) {
    for (var i = 0; i < data.metrics.length; i += 1) {
      if (data.metrics[i].key === key) {
        return data.metrics[i];
      }
    }
    return data.metrics[0];
  }

  function drawCommittees() {
    if (!committeesCanvas) {
      return;
    }
    var metric = metricData(metricSelect ? metricSelect.value : "members_admitted");
    var datasets = [
      { label: data.labels.actual, data: metric.actual, backgroundColor: "rgba(200, 16, 46, 0.75)" },
      { label: data.labels.target, data: metric.target, backgroundColor: "rgba(108, 117, 125, 0.45)" }
    ];
    if (committeesChart) {
      committeesChart.data.datasets = datasets;
      committeesChart.update();
      return;
    }
    committeesChart = new Chart(committeesCanvas, {
      type: "bar",
      data: { labels: data.committees, datasets: datasets },
      options: {
        scales: { y: { beginAtZero: true, ticks: { callback: function (v) { return numberFormat.format(v); } } } },
        plugins: {
          tooltip: {
            callbacks: {
              title: function (items) { return items.length ? data.committee_names[items[0].dataIndex] : ""; },
              label: tooltipLabel
            }
          }
        }
      }
    });
  }

  if (metricSelect) {
    metricSelect.addEventListener("change", drawCommittees);
  }
  drawCommittees();

  // Members admitted per month of the year.
  var monthsCanvas = document.getElementById("chart-months");
  if (monthsCanvas) {
    new Chart(monthsCanvas, {
      type: "bar",
      data: {
        labels: data.months,
        datasets: [{ label: data.labels.admissions, data: data.admissions, backgroundColor: "rgba(13, 110, 253, 0.7)" }]
      },
      options: {
        scales: { y: { beginAtZero: true, ticks: { precision: 0 } } },
        plugins: { legend: { display: false }, tooltip: { callbacks: { label: tooltipLabel } } }
      }
    });
  }
})();
