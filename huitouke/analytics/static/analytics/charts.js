// Draws every chart of an analytics page with the bundled plotly.min.js (served locally, no CDN).
// Each chart is a <div data-chart="ID"> next to <script type="application/json" id="ID"> holding {data, layout}.
(function () {
  function draw() {
    if (typeof Plotly === "undefined") { return; }
    document.querySelectorAll("[data-chart]").forEach(function (el) {
      var source = document.getElementById(el.dataset.chart);
      if (!source || el.dataset.drawn) { return; }
      var spec = JSON.parse(source.textContent);
      var layout = Object.assign({ paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "rgba(0,0,0,0)",
        font: { family: getComputedStyle(document.body).fontFamily, size: 12 } }, spec.layout);
      Plotly.newPlot(el, spec.data, layout, { displayModeBar: false, responsive: true });
      el.dataset.drawn = "1";
    });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", draw); } else { draw(); }
})();
