// The study page's behaviour. Every part is optional: a run without a podcast, cards or quiz has no such section.
"use strict";
(() => {
  // Citations: each button shows or hides the source quote it names.
  for (const button of document.querySelectorAll("button.cite")) {
    button.addEventListener("click", () => {
      const open = button.getAttribute("aria-expanded") !== "true";
      button.setAttribute("aria-expanded", String(open));
      document.getElementById(button.getAttribute("aria-controls")).hidden = !open;
    });
  }

  // Podcast: chapters and turns seek; the turn being spoken is highlighted and kept in view.
  const audio = document.getElementById("player");
  if (audio) {
    const turns = [...document.querySelectorAll("button.turn")];
    const chapters = [...document.querySelectorAll("button.chapter")];
    const box = document.getElementById("transcript");
    const startOf = (el) => Number(el.dataset.start);
    const lastStarted = (list, t) => list.filter((el) => startOf(el) <= t + 0.001).pop() || null;
    let shown = null;

    const mark = (list, current) => {
      for (const el of list) {
        el.classList.toggle("active", el === current);
        if (el === current) el.setAttribute("aria-current", "true");
        else el.removeAttribute("aria-current");
      }
    };
    const follow = (turn) => {  // scroll the transcript box only, never the page
      const top = turn.offsetTop, bottom = top + turn.offsetHeight;
      if (top < box.scrollTop + 40 || bottom > box.scrollTop + box.clientHeight) box.scrollTop = top - box.clientHeight / 3;
    };
    const update = () => {
      const t = audio.currentTime;
      const turn = lastStarted(turns, t);
      mark(chapters, lastStarted(chapters, t));
      if (turn === shown) return;
      mark(turns, turn);
      shown = turn;
      if (turn) follow(turn);
    };
    const seek = (el) => {
      audio.currentTime = startOf(el);
      update();
      const playing = audio.play();
      if (playing) playing.catch(() => {});  // a browser may refuse to play; the seek stands
    };
    for (const el of [...chapters, ...turns]) el.addEventListener("click", () => seek(el));
    for (const name of ["timeupdate", "seeked", "loadedmetadata"]) audio.addEventListener(name, update);
  }

  // Flashcards: flip to see the answer; known / not yet is kept in this browser per document.
  const deck = document.getElementById("cards");
  if (deck) {
    const key = "notebooklm-clone:cards:" + deck.dataset.document;
    const cards = [...deck.querySelectorAll(".card")];
    const hideKnown = document.getElementById("cards-unknown-only");
    let marks = {};
    try { marks = JSON.parse(localStorage.getItem(key)) || {}; } catch { marks = {}; }
    const save = () => { try { localStorage.setItem(key, JSON.stringify(marks)); } catch { /* storage off */ } };

    const show = () => {
      let known = 0, unknown = 0;
      for (const card of cards) {
        const mark = marks[card.dataset.key] || "";
        card.dataset.mark = mark;
        card.querySelector(".known").setAttribute("aria-pressed", String(mark === "known"));
        card.querySelector(".unknown").setAttribute("aria-pressed", String(mark === "unknown"));
        card.hidden = hideKnown.checked && mark === "known";
        known += mark === "known";
        unknown += mark === "unknown";
      }
      document.getElementById("card-tally").textContent =
        `${cards.length} cards: ${known} known, ${unknown} not yet, ${cards.length - known - unknown} unmarked`;
    };
    for (const card of cards) {
      const flip = card.querySelector(".flip");
      flip.addEventListener("click", () => {
        const open = flip.getAttribute("aria-expanded") !== "true";
        flip.setAttribute("aria-expanded", String(open));
        flip.textContent = open ? "Hide answer" : "Show answer";
        card.querySelector(".back").hidden = !open;
        card.classList.toggle("flipped", open);
      });
      for (const mark of ["known", "unknown"]) {
        card.querySelector("." + mark).addEventListener("click", () => {
          if (marks[card.dataset.key] === mark) delete marks[card.dataset.key];  // pressed again: unmarked
          else marks[card.dataset.key] = mark;
          save();
          show();
        });
      }
    }
    hideKnown.addEventListener("change", show);
    show();
  }

  // Quiz: the score, and for each wrong answer the right one with the quote it rests on.
  const quiz = document.getElementById("quiz");
  if (quiz) {
    const score = document.getElementById("quiz-score");
    const questions = [...quiz.querySelectorAll(".question")];
    quiz.addEventListener("submit", (event) => {
      event.preventDefault();
      let right = 0;
      for (const q of questions) {
        const chosen = q.querySelector("input:checked");
        const ok = Boolean(chosen) && chosen.value === q.dataset.answer;
        const correct = q.querySelector(`input[value="${q.dataset.answer}"]`).closest("label").querySelector(".option");
        right += ok;
        q.dataset.result = ok ? "right" : "wrong";
        const verdict = q.querySelector(".verdict");
        verdict.textContent = ok ? "Right." : `${chosen ? "Not quite" : "Not answered"}: the answer is ` +
          `${q.dataset.answer}) ${correct.textContent}. The document says:`;
        verdict.hidden = false;
        q.querySelector(".why").hidden = ok;
      }
      score.textContent = `Score: ${right} / ${questions.length}`;
      score.focus();
    });
    quiz.addEventListener("reset", () => {
      for (const q of questions) {
        delete q.dataset.result;
        q.querySelector(".verdict").hidden = true;
        q.querySelector(".why").hidden = true;
      }
      score.textContent = "";
    });
  }
})();
