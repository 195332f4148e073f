// The 打印 buttons (templates/public/_print_button.html): hidden until this script shows them,
// so a page without script never offers a button that does nothing.
for (const button of document.querySelectorAll("[data-print]")) {
  button.hidden = false;
  button.addEventListener("click", () => window.print());
}
