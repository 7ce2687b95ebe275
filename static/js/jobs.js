// The page of a background job (templates/core/job.html): polls its JSON status until it is done,
// moves the progress bar and shows the link to the result. No inline script: the CSP forbids it.
(function () {
  "use strict";

  var root = document.getElementById("job");
  if (!root) {
    return;
  }
  var bar = document.getElementById("job-bar");
  var progress = document.getElementById("job-progress");
  var label = document.getElementById("job-label");
  var count = document.getElementById("job-count");
  var done = document.getElementById("job-done");
  var total = document.getElementById("job-total");
  var message = document.getElementById("job-message");
  var result = document.getElementById("job-result");
  var reload = document.getElementById("job-reload");
  var numberFormat = new Intl.NumberFormat(document.documentElement.lang === "en" ? "en-GB" : "vi-VN");

  function setPercent(percent) {
    bar.style.width = percent + "%";
    progress.setAttribute("aria-valuenow", String(percent));
  }

  function show(status) {
    setPercent(status.percent);
    label.textContent = status.label;
    message.textContent = status.message;
    if (status.total) {
      count.hidden = false;
      done.textContent = numberFormat.format(status.done);
      total.textContent = numberFormat.format(status.total);
    }
    if (status.finished) {
      bar.classList.remove("progress-bar-striped", "progress-bar-animated");
      bar.classList.toggle("bg-danger", status.status === "failed");
      reload.hidden = true;
    }
    if (status.result_url) {
      result.href = status.result_url;
      result.hidden = false;
    }
  }

  function poll() {
    fetch(root.dataset.statusUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) {
          throw new Error(response.status);
        }
        return response.json();
      })
      .then(function (status) {
        show(status);
        if (!status.finished) {
          window.setTimeout(poll, 1500);
        }
      })
      .catch(function () {
        window.setTimeout(poll, 5000);
      });
  }

  setPercent(Number(bar.dataset.percent) || 0);
  if (root.dataset.finished !== "1") {
    window.setTimeout(poll, 1000);
  }
})();
