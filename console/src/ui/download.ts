/** Saves text as a file the browser downloads (a blob URL: nothing goes back to a server). */
export function saveFile(name: string, text: string, type: string): void {
	const a = document.createElement("a");
	a.href = URL.createObjectURL(new Blob([text], { type }));
	a.download = name;
	document.body.append(a);
	a.click();
	a.remove();
	setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}
