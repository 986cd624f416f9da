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

// Declining a request: choosing an offered note (the <q> in its label) puts its text in the note box,
// to edit before sending. The member's own words are never replaced (the server sends them rather
// than the chosen note); "my own words" empties a box that holds an offered note unchanged.
function offeredNote(choice) {
  var text = choice.labels && choice.labels.length ? choice.labels[0].querySelector("q") : null;
  return text ? text.textContent : "";
}

document.addEventListener("change", function (event) {
  var choice = event.target;
  if (!choice.matches || !choice.matches("input[data-note-for]")) { return; }
  var box = document.getElementById(choice.getAttribute("data-note-for"));
  if (!box) { return; }
  var offered = Array.prototype.map.call(choice.form.querySelectorAll("input[data-note-for]"), offeredNote);
  if (box.value.trim() === "" || offered.indexOf(box.value) !== -1) {
    box.value = offeredNote(choice);
  }
});
