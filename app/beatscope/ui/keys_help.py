"""Help ▸ Keys and mouse: every key and gesture in one place (the status bar's hints
and the README say the same)."""

KEYS_HELP = (
    "PgDown/Space, PgUp: page · Left/Right: previous/next beat\n"
    "N S V F Q: next beat of that class (Shift: previous)\n"
    "] / [: next/previous rhythm finding (sinus rhythm skipped) · Ctrl+G: go to time\n"
    "Wheel, + and -: zoom time · 0: nominal speed · drag: pan\n"
    "Shift+drag: calipers (Δt, rate, ΔV) · Esc: cancel analysis / clear calipers\n\n"
    "Review: click a beat to select it, Ctrl+drag to select several (or pick rows in "
    "the Beats table)\n"
    "Alt+N Alt+S Alt+V Alt+F Alt+Q: relabel the selection · Del: delete it\n"
    "Ins: insert a beat at the pointer · right click: the same as a menu\n"
    "Ctrl+M: note on the selection · D / Shift+D: next/previous disagreement\n"
    "Ctrl+Z / Ctrl+Shift+Z: undo / redo · every edit is saved as it is made\n\n"
    "Templates tab: click a card: its most typical beat · ] / [ on the cards: its next/"
    "previous beat · Ctrl/Shift+click: several cards, then Relabel as N S V F Q "
    "(one undoable edit)\n\n"
    "Ctrl+E: export annotations · Ctrl+P: PDF report · Ctrl+L: 12-lead page"
)
