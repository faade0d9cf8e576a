/* The Mini App's page: reads Telegram's init data and theme, talks to /app/api with it. */
(function () {
  "use strict";

  var tg = window.Telegram && window.Telegram.WebApp;
  var hash = new URLSearchParams(location.hash.slice(1));
  // Inside Telegram, telegram-web-app.js (if the client injected it) knows; else the fragment
  // Telegram opens the page with carries the same.
  var initData = (tg && tg.initData) || hash.get("tgWebAppData") || "";
  var theme = (tg && tg.themeParams) || parseJson(hash.get("tgWebAppThemeParams")) || {};
  var T = {};
  var me = null;
  var view = "list";
  var main = document.getElementById("main");
  var statusLine = document.getElementById("status");
  var mainButtonAction = null;

  function parseJson(text) {
    try { return text ? JSON.parse(text) : null; } catch (e) { return null; }
  }

  function applyTheme(params) {
    var root = document.documentElement.style;
    Object.keys(params).forEach(function (key) {
      if (/^[a-z_]+$/.test(key) && /^#[0-9a-fA-F]{3,8}$/.test(params[key])) {
        root.setProperty("--tg-theme-" + key.replace(/_/g, "-"), params[key]);
      }
    });
    var bg = params.bg_color;
    if (bg && bg.length === 7) {
      var rgb = [1, 3, 5].map(function (i) { return parseInt(bg.substr(i, 2), 16); });
      var dark = 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2] < 128;
      document.documentElement.style.colorScheme = dark ? "dark" : "light";
    }
  }

  function text(key, values) {
    var value = T[key] || key;
    Object.keys(values || {}).forEach(function (name) {
      value = value.split("{" + name + "}").join(values[name]);
    });
    return value;
  }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      var value = attrs[key];
      if (value === null || value === undefined || value === false) return;
      if (key === "text") node.textContent = value;
      else if (key.slice(0, 2) === "on") node.addEventListener(key.slice(2), value);
      else if (value === true) node.setAttribute(key, "");
      else node.setAttribute(key, value);
    });
    (children || []).forEach(function (child) { if (child) node.appendChild(child); });
    return node;
  }

  function say(message, isError) {
    statusLine.textContent = message || "";
    statusLine.className = isError ? "error" : "";
    statusLine.setAttribute("role", isError ? "alert" : "status");
  }

  function api(method, path, body) {
    var options = { method: method, headers: { Authorization: "tma " + initData } };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    return fetch("api/" + path, options).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) {
          var error = new Error(data.error || text("failed"));
          error.status = response.status;
          throw error;
        }
        return data;
      });
    });
  }

  function field(id, label, input) {
    input.id = id;
    return el("div", {}, [el("label", { for: id, text: label }), input]);
  }

  // --- Telegram's own buttons, where the page runs inside Telegram --------------------------

  function setMainButton(label, action) {
    mainButtonAction = action;
    if (!tg || !tg.MainButton) return;
    if (action) {
      tg.MainButton.setText(label);
      tg.MainButton.show();
    } else {
      tg.MainButton.hide();
    }
  }

  function setBack(action) {
    if (!tg || !tg.BackButton) return;
    if (action) tg.BackButton.show(); else tg.BackButton.hide();
    backAction = action;
  }
  var backAction = null;
  if (tg) {
    if (tg.MainButton) tg.MainButton.onClick(function () { if (mainButtonAction) mainButtonAction(); });
    if (tg.BackButton) tg.BackButton.onClick(function () { if (backAction) backAction(); });
    if (tg.ready) tg.ready();
  }

  // --- views ---------------------------------------------------------------------------------

  function show(name, argument) {
    view = name;
    say("");
    setMainButton(null, null);
    setBack(null);
    document.querySelectorAll("#tabs button").forEach(function (button) {
      if (button.dataset.view === name) button.setAttribute("aria-current", "page");
      else button.removeAttribute("aria-current");
    });
    main.textContent = "";
    document.body.dataset.view = name;
    var views = { list: showList, "new": showNew, settings: showSettings, meeting: showMeeting };
    return views[name](argument);
  }

  function showList() {
    return api("GET", "meetings").then(function (data) {
      main.appendChild(el("h1", { text: data.title }));
      main.appendChild(el("p", { class: "hint", text: text("in_zone", { zone: me.zone }) }));
      if (!data.meetings.length) main.appendChild(el("p", { text: text("none") }));
      data.meetings.forEach(function (meeting) { main.appendChild(card(meeting)); });
    }).catch(fail);
  }

  function card(meeting) {
    var actions = el("div", { class: "actions" });
    if (meeting.join) {
      actions.appendChild(el("a", {
        class: "primary", href: meeting.join, target: "_blank", rel: "noopener noreferrer",
        text: text("join"), onclick: function (event) {
          if (meeting.join_in_place) {
            // A link bound to the Telegram account opens only with this app's init data:
            // stay in Telegram's webview and hand it over in the fragment (never sent to a server).
            event.preventDefault();
            location.href = meeting.join + "#tgWebAppData=" + encodeURIComponent(initData);
          } else if (tg && tg.openLink) { event.preventDefault(); tg.openLink(meeting.join); }
        },
      }));
    } else if (meeting.opens && meeting.role) {
      actions.appendChild(el("span", { class: "hint", text: text("opens", { when: meeting.opens }) }));
    }
    if (meeting.manage) {
      actions.appendChild(el("button", {
        type: "button", class: "secondary", text: text("manage"),
        "aria-label": text("manage") + ": " + meeting.title,
        onclick: function () { show("meeting", meeting.code); },
      }));
    }
    return el("article", { class: "card", "data-code": meeting.code }, [
      el("h3", { text: meeting.title }),
      el("div", { class: "when", text: meeting.when }),
      meeting.repeat ? el("div", { class: "repeat", text: meeting.repeat }) : null,
      el("div", { class: "hint", text: text("role", { role: meeting.role_name }) }),
      actions,
    ]);
  }

  function showNew() {
    var form = el("form", { id: "new-form", novalidate: true });
    var title = el("input", { type: "text", maxlength: "200", required: true, autocomplete: "off" });
    var date = el("input", { type: "date", required: true, value: me.today });
    var time = el("input", { type: "time", required: true, step: "300" });
    var duration = el("select", {});
    [15, 30, 45, 60, 90, 120, 180].forEach(function (minutes) {
      duration.appendChild(el("option", { value: String(minutes), text: String(minutes), selected: minutes === 60 }));
    });
    var repeat = el("select", {});
    ["", "daily", "weekly", "biweekly", "monthly"].forEach(function (key) {
      repeat.appendChild(el("option", { value: key, text: text(key ? "repeat_" + key : "repeat_none") }));
    });
    var preview = el("p", { class: "preview", id: "preview", "aria-live": "polite" });
    var people = el("ul", { class: "people", id: "invite-list" });
    var submit = el("button", { type: "submit", class: "primary wide", text: text("schedule") });
    form.appendChild(el("h1", { text: text("new") }));
    form.appendChild(field("title", text("title"), title));
    form.appendChild(el("div", { class: "row" }, [
      field("date", text("date"), date), field("time", text("time"), time),
    ]));
    form.appendChild(el("div", { class: "row" }, [
      field("duration", text("duration"), duration), field("repeat", text("repeat"), repeat),
    ]));
    var capacity = el("input", { type: "number", min: "1", step: "1", inputmode: "numeric", placeholder: "—" });
    var remind = el("input", { type: "text", autocomplete: "off", spellcheck: "false", placeholder: "1d 10m" });
    form.appendChild(el("div", { class: "row" }, [
      field("capacity", text("capacity"), capacity), field("reminders", text("reminders"), remind),
    ]));
    form.appendChild(el("p", { class: "hint", text: text("in_zone", { zone: me.zone }) }));
    form.appendChild(preview);
    // A group's meeting is open to the group (people answer under its message): no invite list.
    if (!me.group) {
      form.appendChild(el("fieldset", {}, [el("legend", { text: text("invite") }), people]));
    }
    form.appendChild(submit);
    main.appendChild(form);

    function values() {
      var invite = [];
      people.querySelectorAll("input:checked").forEach(function (box) { invite.push(box.value); });
      return {
        title: title.value, date: date.value, time: time.value,
        duration: duration.value, repeat: repeat.value, invite: invite,
        capacity: capacity.value, reminders: remind.value,
      };
    }
    var pending = 0;
    function refreshPreview() {
      if (!date.value || !time.value) { preview.textContent = ""; return; }
      var ticket = ++pending;
      api("POST", "preview", values()).then(function (data) {
        if (ticket !== pending) return;
        preview.className = "preview";
        preview.textContent = data.when + (data.repeat ? "\n" + data.repeat : "");
      }).catch(function (error) {
        if (ticket !== pending) return;
        preview.className = "preview error";
        preview.textContent = error.message;
      });
    }
    [date, time, duration, repeat].forEach(function (input) { input.addEventListener("change", refreshPreview); });
    function send() {
      submit.disabled = true;
      api("POST", "meetings", values()).then(function (data) {
        return show("list").then(function () { say(data.message); });
      }).catch(function (error) {
        submit.disabled = false;
        say(error.message, true);
      });
    }
    form.addEventListener("submit", function (event) { event.preventDefault(); send(); });
    setMainButton(text("schedule"), send);
    if (me.group) return Promise.resolve();
    return api("GET", "people").then(function (data) {
      if (!data.people.length) people.appendChild(el("li", { class: "hint", text: text("nobody") }));
      data.people.forEach(function (person) {
        var id = "invite-" + person.id;
        people.appendChild(el("li", {}, [el("label", { for: id }, [
          el("input", { type: "checkbox", id: id, value: String(person.id) }),
          el("span", { text: person.name }),
        ])]));
      });
    }).catch(fail);
  }

  function showMeeting(code) {
    setBack(function () { show("list"); });
    main.appendChild(el("button", {
      type: "button", class: "secondary", text: "← " + text("back"),
      onclick: function () { show("list"); },
    }));
    return api("GET", "meetings/" + encodeURIComponent(code)).then(function (data) {
      var meeting = data.meeting;
      main.appendChild(card(Object.assign({}, meeting, { manage: false })));
      main.appendChild(el("h2", { text: text("participants") }));
      var list = el("ul", { class: "people", id: "participants" });
      data.participants.forEach(function (person, index) {
        var id = "owner-" + index;
        var box = el("input", {
          type: "checkbox", class: "switch", role: "switch", id: id, checked: person.owner,
          disabled: person.id === null, "data-user": person.id === null ? null : String(person.id),
        });
        box.addEventListener("change", function () {
          box.disabled = true;
          api("POST", "meetings/" + encodeURIComponent(code) + "/role",
              { user_id: person.id, owner: box.checked })
            .then(function () { say(text("saved")); })
            .catch(function (error) { box.checked = !box.checked; say(error.message, true); })
            .then(function () { box.disabled = false; });
        });
        list.appendChild(el("li", {}, [
          el("span", { text: person.name }),
          el("label", { for: id }, [el("span", { text: text("owner") }), box]),
        ]));
      });
      main.appendChild(list);

      main.appendChild(el("h2", { text: text("reschedule") }));
      var date = el("input", { type: "date", value: data.date, required: true });
      var time = el("input", { type: "time", value: data.time, required: true, step: "300" });
      var duration = el("input", { type: "number", min: "5", max: "1440", step: "5", value: String(data.duration) });
      var move = el("form", { id: "move-form", novalidate: true }, [
        el("div", { class: "row" }, [
          field("move-date", text("date"), date), field("move-time", text("time"), time),
        ]),
        field("move-duration", text("duration"), duration),
        el("button", { type: "submit", class: "primary wide", text: text("reschedule") }),
      ]);
      move.addEventListener("submit", function (event) {
        event.preventDefault();
        api("POST", "meetings/" + encodeURIComponent(code) + "/reschedule",
            { date: date.value, time: time.value, duration: duration.value })
          .then(function (result) { say(result.message); })
          .catch(function (error) { say(error.message, true); });
      });
      main.appendChild(move);
      ownerTools(code, data);
      main.appendChild(el("button", {
        type: "button", class: "danger wide", id: "cancel-meeting", text: text("cancel"),
        onclick: function () {
          confirmThen(text("confirm_cancel"), function () {
            api("POST", "meetings/" + encodeURIComponent(code) + "/cancel", {})
              .then(function (result) { return show("list").then(function () { say(result.message); }); })
              .catch(function (error) { say(error.message, true); });
          });
        },
      }));
    }).catch(fail);
  }

  // An owner's action: its answer (or refusal) in the status line, then the view afresh.
  function act(code, what, body, reload) {
    return api("POST", "meetings/" + encodeURIComponent(code) + "/" + what, body || {})
      .then(function (result) {
        return (reload ? show("meeting", code) : Promise.resolve()).then(function () { say(result.message); });
      })
      .catch(function (error) { say(error.message, true); });
  }

  function settingForm(id, label, input, onSave) {
    var form = el("form", { id: id, class: "inline", novalidate: true }, [
      field(id + "-input", label, input),
      el("button", { type: "submit", class: "primary", text: text("save") }),
    ]);
    form.addEventListener("submit", function (event) { event.preventDefault(); onSave(); });
    return form;
  }

  function ownerTools(code, data) {
    if (data.series && data.sittings.length) {
      main.appendChild(el("h2", { text: text("sittings") }));
      var list = el("ul", { class: "people", id: "sittings" });
      data.sittings.forEach(function (sitting) {
        list.appendChild(el("li", { "data-date": sitting.date }, [
          el("span", { text: sitting.when }),
          el("button", {
            type: "button", class: "secondary", text: text("skip"),
            "aria-label": text("skip") + ": " + sitting.when,
            onclick: function () {
              confirmThen(text("confirm_skip"), function () { act(code, "skip", { sitting: sitting.date }, true); });
            },
          }),
        ]));
      });
      main.appendChild(list);
      var which = el("select", {});
      data.sittings.forEach(function (sitting) {
        which.appendChild(el("option", { value: sitting.date, text: sitting.when }));
      });
      var date = el("input", { type: "date", required: true, value: data.sittings[0].date });
      var time = el("input", { type: "time", required: true, step: "300", value: data.time });
      var move = el("form", { id: "move-sitting-form", novalidate: true }, [
        field("sitting", text("sitting"), which),
        el("div", { class: "row" }, [
          field("sitting-date", text("date"), date), field("sitting-time", text("time"), time),
        ]),
        el("button", { type: "submit", class: "primary wide", text: text("move_sitting") }),
      ]);
      move.addEventListener("submit", function (event) {
        event.preventDefault();
        act(code, "move", { sitting: which.value, date: date.value, time: time.value }, true);
      });
      main.appendChild(el("h2", { text: text("move_sitting") }));
      main.appendChild(move);
    }

    main.appendChild(el("h2", { text: text("features") }));
    var features = el("ul", { class: "people", id: "features" });
    data.features.forEach(function (feature) {
      var id = "feature-" + feature.name;
      var box = el("input", {
        type: "checkbox", class: "switch", role: "switch", id: id, checked: feature.on,
        "data-feature": feature.name,
      });
      box.addEventListener("change", function () {
        var changes = {};
        changes[feature.name] = box.checked;
        box.disabled = true;
        api("POST", "meetings/" + encodeURIComponent(code) + "/features", { changes: changes })
          .then(function (result) { say(result.message); })
          .catch(function (error) { box.checked = !box.checked; say(error.message, true); })
          .then(function () { box.disabled = false; });
      });
      features.appendChild(el("li", {}, [el("label", { for: id, class: "grow" }, [el("span", { text: feature.name })]), box]));
    });
    main.appendChild(features);

    main.appendChild(el("h2", { text: text("seats_and_reminders") }));
    var seats = el("input", {
      type: "number", min: "1", step: "1", inputmode: "numeric", placeholder: "—",
      value: data.capacity === null ? "" : String(data.capacity),
    });
    main.appendChild(settingForm("capacity-form", text("capacity"), seats, function () {
      act(code, "capacity", { seats: seats.value });
    }));
    var moments = el("input", {
      type: "text", autocomplete: "off", spellcheck: "false", placeholder: "1d 10m", value: data.reminders,
    });
    main.appendChild(el("p", { class: "hint", id: "reminders-now", text: data.reminders_text }));
    main.appendChild(settingForm("reminders-form", text("meeting_reminders"), moments, function () {
      act(code, "reminders", { moments: moments.value }, true);
    }));

    main.appendChild(el("h2", { text: text("more") }));
    var details = el("div", { id: "details", "aria-live": "polite" });
    main.appendChild(el("div", { class: "actions" }, [
      el("button", {
        type: "button", class: "secondary", id: "show-history", text: text("history"),
        onclick: function () {
          api("GET", "meetings/" + encodeURIComponent(code) + "/history").then(function (result) {
            details.textContent = "";
            details.appendChild(el("h3", { text: result.title }));
            details.appendChild(el("ul", { class: "log", id: "history" }, result.events.map(function (event) {
              return el("li", {}, [el("span", { class: "hint", text: event.when + " " }), el("span", { text: event.text })]);
            })));
          }).catch(function (error) { say(error.message, true); });
        },
      }),
      el("button", {
        type: "button", class: "secondary", id: "show-attendance", text: text("attendance"),
        onclick: function () {
          api("GET", "meetings/" + encodeURIComponent(code) + "/attendance").then(function (result) {
            details.textContent = "";
            details.appendChild(el("h3", { text: result.when }));
            result.groups.forEach(function (group) {
              details.appendChild(el("p", { text: group.heading }));
              details.appendChild(el("ul", { class: "log" }, group.names.map(function (name) {
                return el("li", { text: name });
              })));
            });
          }).catch(function (error) {
            details.textContent = "";
            details.appendChild(el("p", { class: "hint", text: error.message }));
          });
        },
      }),
      el("button", {
        type: "button", class: "secondary", id: "rotate-room", text: text("rotate"),
        onclick: function () {
          confirmThen(text("confirm_rotate"), function () { act(code, "rotate", {}); });
        },
      }),
    ]));
    main.appendChild(details);
  }

  function confirmThen(question, action) {
    if (tg && tg.showConfirm) tg.showConfirm(question, function (ok) { if (ok) action(); });
    else if (window.confirm(question)) action();
  }

  function showSettings() {
    var form = el("form", { id: "settings-form", novalidate: true });
    var zone = el("input", { type: "text", value: me.zone, autocomplete: "off", spellcheck: "false" });
    var language = el("select", {});
    me.languages.forEach(function (item) {
      language.appendChild(el("option", { value: item.code, text: item.name, selected: item.code === me.language }));
    });
    var email = el("input", { type: "email", value: me.email, autocomplete: "email" });
    var remind = el("input", {
      type: "text", value: me.reminders, autocomplete: "off", spellcheck: "false", placeholder: "1h 10m",
    });
    form.appendChild(el("h1", { text: text("settings") }));
    form.appendChild(field("zone", text("zone"), zone));
    form.appendChild(field("language", text("language"), language));
    form.appendChild(field("email", text("email"), email));
    form.appendChild(field("default-reminders", text("default_reminders"), remind));
    form.appendChild(el("button", { type: "submit", class: "primary wide", text: text("save") }));
    function save() {
      api("POST", "settings", {
        zone: zone.value, language: language.value, email: email.value, reminders: remind.value,
      })
        .then(function (data) { return start().then(function () { return show("settings"); }).then(function () { say(data.message); }); })
        .catch(function (error) { say(error.message, true); });
    }
    form.addEventListener("submit", function (event) { event.preventDefault(); save(); });
    setMainButton(text("save"), save);
    main.appendChild(form);
    return Promise.resolve();
  }

  function fail(error) {
    main.appendChild(el("p", { class: "error", role: "alert", id: "refusal", text: error.message }));
  }

  function start() {
    return api("GET", "me").then(function (data) {
      me = data;
      T = data.texts;
      document.documentElement.lang = data.language;
      document.title = text("meetings");
      ["list", "new", "settings"].forEach(function (name) {
        document.getElementById("tab-" + name).textContent =
          text({ list: "meetings", "new": "new", settings: "settings" }[name]);
      });
      document.getElementById("tabs").hidden = false;
    });
  }

  applyTheme(theme);
  document.querySelectorAll("#tabs button").forEach(function (button) {
    button.addEventListener("click", function () { show(button.dataset.view); });
  });
  start().then(function () { return show("list"); }).catch(function (error) {
    main.textContent = "";
    fail(error);
  }).then(function () { document.body.dataset.ready = "1"; });
  window.miniApp = { show: show };
})();
