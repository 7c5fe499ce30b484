/* report_page.c: the HTML around the charts: head with the inline style sheet, sections,
 * table rows, and the one inline script (a time cursor shared by every chart over time;
 * without scripts the page reads the same, minus the cursor). */
#include "report_int.h"

static const char css[] =
    "body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;"
    "color:#1d2330;background:#fff;margin:0}"
    "main{max-width:1140px;margin:0 auto;padding:16px 20px 60px}"
    "h1{font-size:22px;margin:6px 0 2px}"
    "h2{font-size:17px;margin:30px 0 4px;border-bottom:1px solid #dde2ea;padding-bottom:4px}"
    "p.lead{color:#4a5568;margin:4px 0 10px;max-width:60em}"
    "p.sub{color:#4a5568;margin:0 0 8px}"
    ".verdict{padding:10px 14px;border-radius:6px;font-weight:600;margin:12px 0;font-size:15px}"
    ".verdict.ok{background:#e6f4ea;border:1px solid #8cc79b}"
    ".verdict.bad{background:#fde8e8;border:2px solid #c53030}"
    "table{border-collapse:collapse;width:100%;margin:6px 0}"
    "td,th{padding:4px 8px;border-bottom:1px solid #eceff3;text-align:left;vertical-align:top}"
    "th{font-size:12px;text-transform:uppercase;letter-spacing:.04em;color:#4a5568}"
    "td.v{font-variant-numeric:tabular-nums;font-weight:600;white-space:nowrap}"
    "td.m{color:#4a5568}"
    "tr.bad td.v{color:#b91c1c}"
    "pre{background:#f6f8fa;padding:8px 10px;overflow-x:auto;border-radius:4px;font-size:12px}"
    "code{background:#f6f8fa;padding:1px 4px;border-radius:3px}"
    "svg{display:block;max-width:100%;height:auto;margin:4px 0;"
    "font:11px system-ui,-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif}"
    "svg text{fill:#2d3748}"
    ".axis line{stroke:#4a5568;stroke-width:1}"
    ".axis line.grid{stroke:#e8ebf0}"
    "svg .label{font-weight:600;font-size:12px}"
    "svg .flabel{font-size:10px}"
    "svg .facet{font-weight:600;font-size:12px}"
    "svg .cursor{stroke:#111;stroke-width:1;stroke-dasharray:3 3}"
    ".legend{display:flex;flex-wrap:wrap;gap:6px 18px;margin:6px 0 2px;font-size:13px;"
    "align-items:center}"
    ".legend svg{display:inline-block;margin:0 4px 0 0;vertical-align:middle}"
    "details{margin:6px 0}"
    "iframe{width:100%;height:640px;border:1px solid #dde2ea;border-radius:4px}";

static const char js[] =
    "(function(){var cs=document.querySelectorAll('svg.tchart');"
    "function each(f){for(var i=0;i<cs.length;i++)f(cs[i]);}"
    "function hide(){each(function(c){var l=c.querySelector('.cursor'),t=c.querySelector("
    "'.cursor-t');if(l)l.style.display='none';if(t)t.textContent='';});}"
    "function move(e){var s=e.currentTarget,r=s.getBoundingClientRect(),w=s.viewBox.baseVal."
    "width,x=(e.clientX-r.left)*w/r.width,x0=+s.getAttribute('data-x0'),x1=+s.getAttribute("
    "'data-x1'),t1=+s.getAttribute('data-t1');if(x<x0||x>x1){hide();return;}"
    "var t=(x-x0)/(x1-x0)*t1;each(function(c){var l=c.querySelector('.cursor'),tx=c."
    "querySelector('.cursor-t');if(l){l.setAttribute('x1',x);l.setAttribute('x2',x);l.style."
    "display='';}if(tx){tx.setAttribute('x',x+4);tx.textContent=t.toFixed(3)+' s';}});}"
    "each(function(c){c.addEventListener('mousemove',move);c.addEventListener('mouseleave',"
    "hide);});})();";

void rp_page_begin(fl_buf *b, const char *title)
{
    fl_buf_put_str(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                      "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
                      "<title>");
    rp_esc(b, title);
    fl_buf_printf(b, "</title><style>%s</style></head>\n<body><main>\n", css);
}

void rp_page_end(fl_buf *b)
{
    fl_buf_printf(b,
                  "<p class=\"sub\">Made by <code>faultline report</code>: one file, nothing "
                  "fetched. Hover a chart over time for a cursor across all of them.</p>\n"
                  "</main><script>%s</script></body></html>\n",
                  js);
}

void rp_section_begin(fl_buf *b, const char *id, const char *heading, const char *lead)
{
    fl_buf_printf(b, "<section id=\"%s\"><h2>", id);
    rp_esc(b, heading);
    fl_buf_put_str(b, "</h2>\n");
    if (lead) {
        fl_buf_put_str(b, "<p class=\"lead\">");
        rp_esc(b, lead);
        fl_buf_put_str(b, "</p>\n");
    }
}

void rp_section_end(fl_buf *b)
{
    fl_buf_put_str(b, "</section>\n");
}

void rp_row(fl_buf *b, const char *what, const char *value_html, const char *meaning, bool bad)
{
    fl_buf_put_str(b, bad ? "<tr class=\"bad\"><td>" : "<tr><td>");
    rp_esc(b, what);
    fl_buf_printf(b, "</td><td class=\"v\">%s</td><td class=\"m\">", value_html);
    rp_esc(b, meaning);
    fl_buf_put_str(b, "</td></tr>\n");
}
