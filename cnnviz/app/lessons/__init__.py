"""The lessons room: the lesson dock (narration, Next/Previous, progress, resume) and the
runner that applies a lesson's actions to the controller and checks its live numbers.

It may import the controller and the widgets, nothing else of the app; what a lesson asks
of other rooms (an inspector tab, the Explain dock, the training dock) goes through a
`LessonUi` the shell provides.
"""
