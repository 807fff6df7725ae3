/** The exports page's pure parts: the export request built from its form, result sentences. */

/** The POST /api/exports/ body from the export form's fields. */
export function exportBody(data: FormData): Record<string, unknown> {
  const body: Record<string, unknown> = {
    project: Number(data.get("project")),
    format: data.get("format"),
    state: data.get("state"),
    track: data.get("track"),
    channels: data.get("channels"),
    include_images: data.get("include_images") === "on",
    subjects: data.getAll("subjects").map(Number),
  };
  if (data.get("round")) body.round = Number(data.get("round"));
  return body;
}

export const studiesText = (n: number): string => `${n} stud${n === 1 ? "y" : "ies"}`;
