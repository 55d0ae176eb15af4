// The member page's "Chat with us" button opens Messenger (a static file: the CSP allows no inline handler).
// The button stays hidden where no Messenger is configured on the page (window.Genesys is its queue).
(function () {
  "use strict";
  var button = document.getElementById("open-chat");
  if (!button || typeof window.Genesys !== "function") { return; }
  button.hidden = false;
  button.addEventListener("click", function () { window.Genesys("command", "Messenger.open"); });
})();
