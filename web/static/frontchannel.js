// Front-channel logout: move on once every app's logout frame has loaded
// (or after three seconds, whichever is first).
(function () {
  var next = document.getElementById("next");
  var frames = document.querySelectorAll("iframe.frontchannel");
  var left = frames.length;
  var go = function () { if (next) { window.location.replace(next.getAttribute("href")); } };
  frames.forEach(function (f) {
    f.addEventListener("load", function () { left--; if (left <= 0) { go(); } });
  });
  setTimeout(go, 3000);
})();
