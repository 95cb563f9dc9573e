"""The clinician's answers back: filled checklists (PDF forms, DOCX content controls) read,
checked and turned into facts the letters use. Sits above compose and render (which never
import it); `appeals facts import` is its command."""

from appeals.answers.checks import problems
from appeals.answers.importer import FileResult, import_answers, merge_facts
from appeals.answers.read import Answer, AnswersError, Returned, read_returned

__all__ = ["Answer", "AnswersError", "FileResult", "Returned", "import_answers", "merge_facts",
           "problems", "read_returned"]
