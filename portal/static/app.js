// Small enhancements; every page works without them.
document.documentElement.classList.add("js");

// Pre-fill the time zone from the browser on first-time forms (no overwrite of a choice).
document.addEventListener("DOMContentLoaded", function () {
  var zone;
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { return; }
  if (!zone) { return; }
  document.querySelectorAll("[data-detect-zone]").forEach(function (input) {
    if (input.value && input.value !== "UTC") { return; }
    if (input.tagName === "SELECT") {
      if (input.querySelector('option[value="' + zone + '"]')) { input.value = zone; }
    } else {
      input.value = zone;
    }
  });
});
