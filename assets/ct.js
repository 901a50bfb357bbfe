// The module's page script. This is its readable source; the handler serves
// assets/ct.min.js, built from it by `go generate` (see script.go), at
// /__cleantalk/ct.js with CT_CONFIG replaced by the settings of one page load:
//
//	s  the page's signed load time, "<unix seconds>.<signature>"
//	j  the JavaScript proof, signed for this client's address
//	a  the visit so far, signed by the server (visit.go)
//	f  the activity flags the visit has seen so far
//	c  cookies the server made for this browser, as complete document.cookie
//	   strings, set at once (AntiCrawler's pass)
//	p  path patterns of the form routes: posts to them carry this page's report
//	h  path patterns of the routes whose forms get the honeypot field
//	n  the honeypot field's name ("" when the honeypot is off)
//
// It gathers what CleanTalk's WordPress plugin gathers in the browser, and
// hands it to the submissions of this page only: just before a form on the
// page is posted (submit, form.submit(), fetch, XMLHttpRequest, sendBeacon)
// it writes a cookie of ten seconds' life, for the path posted to, with the
// page's stamp and signals. The body the application reads is never changed,
// apart from the honeypot field, which the handler removes again.
(function (cfg) {
  "use strict";
  var d = document, w = window, loc = location, nav = navigator;
  var secure = loc.protocol === "https:" ? "; Secure" : "";
  var clock = w.performance ? performance : Date;
  var start = clock.now();
  var stamp = parseInt(cfg.s, 10) || 0; // server time of this page load
  var lastForm = null, positions = [], sampleDue = 0, keyPress = 0;
  var honeypotDone = new WeakSet();

  // The server's clock, for times that go with the page's stamp.
  function serverTime() {
    return stamp + Math.floor((clock.now() - start) / 1000);
  }

  // Cookies meant only for the script's own path: what the server keeps
  // of the visit (see visit.go) hears of this page's activity through them.
  function tellServer(name, value) {
    d.cookie = name + "=" + encodeURIComponent(value) + "; path=/__cleantalk/; max-age=86400; SameSite=Lax" + secure;
  }

  // Everything else waits until the page is idle (at most a second), so
  // that the script never holds the page up: at load it only defines
  // itself.
  cfg.c.forEach(function (c) {
    d.cookie = c;
  });
  var settled = false;
  function settle() {
    if (settled) {
      return;
    }
    settled = true;
    if (d.referrer && sameOrigin(d.referrer) === false) {
      tellServer("ct_caddy_r", d.referrer);
    }
    [].forEach.call(d.forms, honeypot);
    watch();
    hook();
  }
  if (w.requestIdleCallback) {
    requestIdleCallback(settle, { timeout: 1000 });
  } else {
    setTimeout(settle, 1);
  }

  // Activity flags, kept by the server for the visit: m mouse moved,
  // s scrolled, k key up in a form field, f form field focused.
  var flags = "";
  function flag(name) {
    if (flags.indexOf(name) < 0) {
      flags += name;
      if (cfg.f.indexOf(name) < 0) {
        tellServer("ct_caddy_f", cfg.f + flags);
      }
    }
  }

  function listen(type, fn) {
    d.addEventListener(type, fn, { capture: true, passive: true });
  }
  function unlisten(type, fn) {
    d.removeEventListener(type, fn, { capture: true });
  }
  function isField(el) {
    return !!(el && el.form && (el.tagName === "TEXTAREA" || (el.tagName === "INPUT" && el.type !== "hidden")));
  }

  // Up to 50 mouse positions, at most one each 150 ms.
  function mouseMove(e) {
    flag("m");
    var t = clock.now();
    if (t >= sampleDue) {
      sampleDue = t + 150;
      positions.push([Math.round(e.clientY), Math.round(e.clientX), Math.round(t - start)]);
      if (positions.length >= 50) {
        unlisten("mousemove", mouseMove);
      }
    }
  }
  function scrolled() {
    flag("s");
    unlisten("scroll", scrolled);
  }
  function firstPress() {
    keyPress = serverTime();
    unlisten("keydown", firstPress);
    unlisten("mousedown", firstPress);
  }
  function sameOrigin(url) {
    try {
      return new URL(url, d.baseURI).origin === loc.origin;
    } catch (e) {
      return null;
    }
  }

  // match tells whether a path matches one of the route patterns the way
  // Caddy's path matcher does for the kinds the server sends: exact,
  // prefix*, *suffix and *substring*, in lower case.
  function match(path, patterns) {
    try {
      path = decodeURIComponent(path).toLowerCase().replace(/\/\/+/g, "/");
    } catch (e) {
      return false;
    }
    return patterns.some(function (p) {
      var stars = p.split("*").length - 1;
      if (p === "*" || stars === 0) {
        return p === "*" || path === p;
      }
      if (stars === 2 && p[0] === "*" && p.slice(-1) === "*") {
        return path.indexOf(p.slice(1, -1)) >= 0;
      }
      return stars === 1 && (p[0] === "*" ? path.endsWith(p.slice(1)) : p.slice(-1) === "*" && path.startsWith(p.slice(0, -1)));
    });
  }

  // A form's own action and method: the properties may be shadowed by
  // fields named "action" or "method".
  function formTarget(form) {
    return new URL(form.getAttribute("action") || "", d.baseURI);
  }
  function formMethod(form) {
    return (form.getAttribute("method") || "get").toLowerCase();
  }

  // The honeypot: a field people never see, in the forms posted to a
  // protected route, named and styled as the plugin's.
  function honeypot(form) {
    if (!cfg.n || honeypotDone.has(form)) {
      return;
    }
    honeypotDone.add(form);
    var url = formTarget(form);
    if (formMethod(form) !== "post" || (form.getAttribute("enctype") || "").toLowerCase() === "text/plain" ||
      url.origin !== loc.origin || !match(url.pathname, cfg.h)) {
      return;
    }
    var field = d.createElement("input");
    field.type = "text";
    field.name = cfg.n;
    field.className = "apbct_special_field " + cfg.n.replace("apbct__", "apbct_");
    field.setAttribute("aria-label", cfg.n.replace("email_id", "label_id"));
    field.setAttribute("aria-hidden", "true");
    field.size = 30;
    field.maxLength = 200;
    field.autocomplete = "off";
    field.tabIndex = -1;
    field.style.display = "none";
    form.appendChild(field);
  }
  // The fields of a form a person can and cannot see, as the plugin counts
  // them, and the name of its visible URL field (the sender's website).
  function fields(form) {
    var visible = [], invisible = [], url = "", skip = {};
    [].forEach.call(form.elements, function (el) {
      var name = el.getAttribute("name"), type = el.getAttribute("type");
      if (skip[name]) {
        return;
      }
      if (type === "radio" || type === "checkbox") {
        skip[name] = 1;
        return;
      }
      if (type === "submit" || name === null || name === "ct_checkjs") {
        return;
      }
      var hidden = type === "hidden";
      if (!hidden) {
        var style = getComputedStyle(el);
        hidden = style.display === "none" || style.visibility === "hidden" || style.opacity === "0";
      }
      if (hidden && !el.classList.contains("wp-editor-area")) {
        invisible.push(name);
      } else {
        visible.push(name);
        url = url || (el.type === "url" ? name : "");
      }
    });
    return [visible, invisible, url];
  }

  function pack(report) {
    return btoa(unescape(encodeURIComponent(JSON.stringify(report))))
      .replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  // The report of this page for one post, made to fit a cookie.
  function report(form) {
    settle();
    var root = d.documentElement, body = d.body || root;
    var r = {
      s: cfg.s, j: cfg.j, a: cfg.a, d: d.referrer,
      z: -new Date().getTimezoneOffset() / 60, w: nav.webdriver ? 1 : 0,
      m: positions, f: flags, k: keyPress,
      c: [root.scrollWidth, Math.max(body.scrollHeight, root.scrollHeight, body.offsetHeight, root.offsetHeight,
        body.clientHeight, root.clientHeight), root.clientWidth, root.clientHeight],
    };
    if (form) {
      var f = fields(form);
      r.v = f[0];
      r.i = f[1];
      r.x = f[2];
    }
    var packed = pack(r);
    while (packed.length > 3800 && r.m.length) {
      r.m = r.m.slice(0, r.m.length >> 1);
      packed = pack(r);
    }
    if (packed.length > 3800) {
      r.d = r.d.slice(0, 256);
      packed = pack(r);
    }
    if (packed.length > 3800) {
      r.v = r.i = [];
      packed = pack(r);
    }
    return packed.length > 3800 ? "" : packed;
  }

  // A post from this page: when it goes to a form route of this site, its
  // request carries the page's report.
  function posting(url, method, form) {
    try {
      var target = new URL(url, d.baseURI);
      if (!/^(post|put|patch)$/i.test(method || "") || target.origin !== loc.origin || !match(target.pathname, cfg.p)) {
        return;
      }
      var packed = report(form || lastForm);
      var path = /[;,\s]/.test(target.pathname) ? "/" : target.pathname;
      d.cookie = "ct_caddy_sig=" + packed + "; path=" + path + "; max-age=" + (packed ? 10 : 0) + "; SameSite=Strict" + secure;
    } catch (e) {}
  }

  // The activity the plugin gathers.
  function watch() {
    listen("mousemove", mouseMove);
    listen("scroll", scrolled);
    listen("keydown", firstPress);
    listen("mousedown", firstPress);
    listen("keyup", function (e) {
      if (isField(e.target)) {
        flag("k");
      }
    });
    listen("focusin", function (e) {
      var form = e.target && e.target.form;
      if (form) {
        lastForm = form;
        honeypot(form);
      }
      if (isField(e.target)) {
        flag("f");
      }
    });
  }

  // Hand this page's report to each of its posts, however it is made.
  function hook() {
    listen("submit", function (e) {
      var form = e.target, by = e.submitter;
      lastForm = form;
      posting(by && by.hasAttribute("formaction") ? by.formAction : formTarget(form).href,
        by && by.hasAttribute("formmethod") ? by.formMethod : formMethod(form), form);
    });
    var formProto = HTMLFormElement.prototype, submit = formProto.submit;
    formProto.submit = function () {
      posting(formTarget(this).href, formMethod(this), this);
      return submit.apply(this, arguments);
    };
    var fetch0 = w.fetch;
    if (fetch0) {
      w.fetch = function (input, init) {
        var isRequest = typeof Request === "function" && input instanceof Request;
        posting(isRequest ? input.url : String(input), (init && init.method) || (isRequest ? input.method : "GET"));
        return fetch0.apply(this, arguments);
      };
    }
    var xhr = XMLHttpRequest.prototype, open = xhr.open, send = xhr.send, opened = new WeakMap();
    xhr.open = function (method, url) {
      opened.set(this, [method, url]);
      return open.apply(this, arguments);
    };
    xhr.send = function () {
      var o = opened.get(this);
      if (o) {
        posting(String(o[1]), o[0]);
      }
      return send.apply(this, arguments);
    };
    var beacon = nav.sendBeacon;
    if (beacon) {
      nav.sendBeacon = function (url) {
        posting(String(url), "POST");
        return beacon.apply(nav, arguments);
      };
    }
  }
})(CT_CONFIG);
