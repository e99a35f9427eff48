// Filters the table as you type; without JavaScript the form does the same on the server.
(function () {
  "use strict";
  var form = document.querySelector("form.filters");
  var table = document.getElementById("images");
  if (!form || !table) { return; }
  var state = form.elements.state, text = form.elements.q, shown = document.getElementById("shown");
  var rows = table.tBodies[0].querySelectorAll("tr[data-state]");
  function apply() {
    var wanted = state.value, needle = text.value.trim().toLowerCase(), count = 0;
    rows.forEach(function (row) {
      var keep = (!wanted || row.dataset.state === wanted) &&
                 row.dataset.ref.indexOf(needle) !== -1;
      row.classList.toggle("hidden", !keep);
      if (keep) { count += 1; }
    });
    // Keep the filter in the address, so the page's periodic reload shows the same rows.
    var params = new URLSearchParams();
    if (wanted) { params.set("state", wanted); }
    if (text.value.trim()) { params.set("q", text.value.trim()); }
    history.replaceState(null, "", params.toString() ? "?" + params.toString() : location.pathname);
    if (shown) { shown.textContent = count + " of " + rows.length + " images shown, what needs attention first."; }
  }
  state.addEventListener("change", apply);
  text.addEventListener("input", apply);
}());
