// Passkeys: the pages that use them load this. WebAuthn has no form
// submission of its own, so this is the one part of the portal that needs
// script: it asks the server for options, hands them to the browser's
// authenticator, and posts the answer back. Pages say what they offer with
// data-passkey attributes; without script (or passkey support) those parts
// stay hidden and everything else works.
(function () {
  "use strict";

  if (!window.PublicKeyCredential || !navigator.credentials) { return; }

  function b64urlToBuf(s) {
    s = s.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) { s += "="; }
    var bin = atob(s), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) { out[i] = bin.charCodeAt(i); }
    return out.buffer;
  }

  function bufToB64url(buf) {
    var bytes = new Uint8Array(buf), bin = "";
    for (var i = 0; i < bytes.length; i++) { bin += String.fromCharCode(bytes[i]); }
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function descriptors(list) {
    return (list || []).map(function (d) {
      var out = { type: d.type, id: b64urlToBuf(d.id) };
      if (d.transports) { out.transports = d.transports; }
      return out;
    });
  }

  // creationOptions and requestOptions turn the server's JSON options into
  // what navigator.credentials takes.
  function creationOptions(o) {
    var pk = Object.assign({}, o.publicKey);
    pk.challenge = b64urlToBuf(pk.challenge);
    pk.user = Object.assign({}, pk.user, { id: b64urlToBuf(pk.user.id) });
    pk.excludeCredentials = descriptors(pk.excludeCredentials);
    return { publicKey: pk };
  }

  function requestOptions(o) {
    var pk = Object.assign({}, o.publicKey);
    pk.challenge = b64urlToBuf(pk.challenge);
    pk.allowCredentials = descriptors(pk.allowCredentials);
    return { publicKey: pk };
  }

  // credentialJSON is the browser's answer as the server reads it.
  function credentialJSON(c) {
    var r = c.response, resp = { clientDataJSON: bufToB64url(r.clientDataJSON) };
    if (r.attestationObject) {
      resp.attestationObject = bufToB64url(r.attestationObject);
      if (r.getTransports) { resp.transports = r.getTransports(); }
    } else {
      resp.authenticatorData = bufToB64url(r.authenticatorData);
      resp.signature = bufToB64url(r.signature);
      if (r.userHandle) { resp.userHandle = bufToB64url(r.userHandle); }
    }
    return {
      id: c.id, rawId: bufToB64url(c.rawId), type: c.type, response: resp,
      authenticatorAttachment: c.authenticatorAttachment || undefined,
      clientExtensionResults: c.getClientExtensionResults ? c.getClientExtensionResults() : {}
    };
  }

  function post(path, body) {
    return window.fetch(path, {
      method: "POST", credentials: "same-origin", cache: "no-store",
      headers: { "Content-Type": "application/json" }, body: JSON.stringify(body || {})
    }).then(function (res) {
      return res.json()["catch"](function () { return {}; }).then(function (data) {
        if (!res.ok) {
          var err = new Error(data.message || "Something went wrong. Please try again.");
          err.server = true;
          throw err;
        }
        return data;
      });
    });
  }

  function show(box, message) {
    if (!box) { return; }
    box.textContent = message;
    box.hidden = !message;
  }

  // failed says what went wrong, in words: a cancelled prompt is not an
  // error worth more than a line.
  function failed(box, err) {
    if (err && err.name === "AbortError") { return; }
    if (err && err.name === "NotAllowedError") {
      show(box, "No passkey was used. Try again, or sign in another way.");
      return;
    }
    show(box, err && err.server ? err.message : "Your browser could not use a passkey here. Try again, or sign in another way.");
  }

  function reveal() {
    document.querySelectorAll("[data-passkey-only]").forEach(function (el) { el.hidden = false; });
    document.querySelectorAll("[data-passkey-fallback]").forEach(function (el) { el.hidden = true; });
  }

  // The login page: a button, and autofill on the email field.
  var login = document.querySelector("[data-passkey-login]");
  if (login) {
    reveal();
    var box = document.getElementById("passkey-error");
    var rd = login.getAttribute("data-rd") || "";
    var remember = document.querySelector("input[name=rememberMe]");
    var pending = null;
    var finish = function (cred) {
      return post("/api/passkeys/login", {
        credential: credentialJSON(cred), targetURL: rd, rememberMe: !!(remember && remember.checked)
      }).then(function (data) { window.location.assign(data.redirect || "/"); });
    };
    var conditional = function () {
      if (!PublicKeyCredential.isConditionalMediationAvailable) { return; }
      PublicKeyCredential.isConditionalMediationAvailable().then(function (ok) {
        if (!ok) { return; }
        pending = new AbortController();
        var signal = pending.signal;
        post("/api/passkeys/login/options", { conditional: true }).then(function (o) {
          var opts = requestOptions(o);
          opts.mediation = "conditional";
          opts.signal = signal;
          return navigator.credentials.get(opts);
        }).then(function (cred) { if (cred) { return finish(cred); } })["catch"](function (err) { failed(box, err); });
      })["catch"](function () {});
    };
    login.addEventListener("click", function () {
      if (pending) { pending.abort(); pending = null; }
      show(box, "");
      login.disabled = true;
      post("/api/passkeys/login/options", { conditional: false }).then(function (o) {
        return navigator.credentials.get(requestOptions(o));
      }).then(finish)["catch"](function (err) {
        login.disabled = false;
        failed(box, err);
      });
    });
    conditional();
  }

  // The second-factor page: the passkey instead of a code.
  var second = document.querySelector("[data-passkey-second-factor]");
  if (second) {
    reveal();
    var box2 = document.getElementById("passkey-error");
    second.addEventListener("click", function () {
      show(box2, "");
      second.disabled = true;
      post("/api/login/second-factor/passkey/options", {}).then(function (o) {
        return navigator.credentials.get(requestOptions(o));
      }).then(function (cred) {
        return post("/api/login/second-factor/passkey", {
          credential: credentialJSON(cred), targetURL: second.getAttribute("data-rd") || ""
        });
      }).then(function (data) { window.location.assign(data.redirect || "/"); })["catch"](function (err) {
        second.disabled = false;
        failed(box2, err);
      });
    });
  }

  // A reset link's page: the passkey as the second factor, its answer
  // sent with the form.
  var resetBox = document.querySelector("[data-passkey-reset]");
  if (resetBox) {
    reveal();
    var form = resetBox.form, box4 = document.getElementById("passkey-error"), answered = false;
    form.addEventListener("submit", function (e) {
      if (answered || !resetBox.checked) { return; }
      e.preventDefault();
      show(box4, "");
      post("/api/password-reset/passkey/options", { token: resetBox.getAttribute("data-passkey-reset") }).then(function (o) {
        return navigator.credentials.get(requestOptions(o));
      }).then(function (cred) {
        form.querySelector("input[name=passkeyCredential]").value = JSON.stringify(credentialJSON(cred));
        answered = true;
        form.submit();
      })["catch"](function (err) { failed(box4, err); });
    });
  }

  // /security: add a passkey (name and password from the form).
  var add = document.querySelector("form[data-passkey-add]");
  if (add) {
    reveal();
    var box3 = document.getElementById("passkey-add-error");
    add.addEventListener("submit", function (e) {
      e.preventDefault();
      var button = add.querySelector("button[type=submit]");
      var name = add.querySelector("input[name=name]").value;
      var pw = add.querySelector("input[name=password]");
      show(box3, "");
      button.disabled = true;
      // The password, or (left empty) one of the person's passkeys,
      // confirms it is them.
      var options = pw.value === "" && add.hasAttribute("data-has-passkeys") ?
        post("/api/account/passkeys/confirm/options", {}).then(function (o) {
          return navigator.credentials.get(requestOptions(o));
        }).then(function (cred) {
          return post("/api/account/passkeys/options", { credential: credentialJSON(cred) });
        }) :
        post("/api/account/passkeys/options", { password: pw.value });
      options.then(function (o) {
        pw.value = "";
        return navigator.credentials.create(creationOptions(o));
      }).then(function (cred) {
        return post("/api/account/passkeys", { name: name, credential: credentialJSON(cred) });
      }).then(function () {
        window.location.assign("/security?done=passkey_added");
      })["catch"](function (err) {
        button.disabled = false;
        if (err && err.name === "InvalidStateError") {
          show(box3, "This device already holds a passkey for your account.");
          return;
        }
        failed(box3, err);
      });
    });
  }
})();
